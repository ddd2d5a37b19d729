"""``avatar-pipeline models list|check|download``: the known checkpoints, their cache, the only download."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.errors import PipelineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="known checkpoints, with URL, size, SHA-256 and licence")
    check = sub.add_parser("check", help="which checkpoints are in the cache and whether they verify")
    check.add_argument("names", nargs="*", help="registry names (default: all)")
    check.add_argument("--dir", type=Path, help="cache folder (default $AVATAR_HOME/models)")
    download = sub.add_parser("download", help="download checkpoints into the cache (verified)")
    download.add_argument("names", nargs="+", help="registry names")
    download.add_argument("--dir", type=Path, help="cache folder (default $AVATAR_HOME/models)")
    download.add_argument("--url", help="download from this URL instead (a mirror); one name only")
    download.add_argument("--force", action="store_true", help="download even if a verified file is present")


def _entries(names: list[str]):
    from pipeline.proposals.weights import REGISTRY

    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise PipelineError(f"models: unknown name(s) {unknown}; expected some of {sorted(REGISTRY)}")
    return [REGISTRY[n] for n in names] if names else list(REGISTRY.values())


def run(args: argparse.Namespace) -> int:
    from pipeline.proposals import weights

    if args.action == "list":
        print(f"cache: {weights.models_dir()}")
        for e in weights.REGISTRY.values():
            size = f"{e.size} B" if e.size else "size unknown"
            print(f"{e.name:24s} {e.kind:9s} {e.filename:28s} {size:16s} sha256 {e.sha256 or 'unknown'}")
            print(f"{'':24s} {e.url}  [{e.license}] {e.note}")
        return 0
    if args.action == "check":
        rows = [weights.check(e, args.dir) for e in _entries(args.names)]
        for r in rows:
            print(f"{r['name']:24s} {r['status']:14s} {r['path']}  {r['detail']}")
        return 0 if all(r["status"] in ("ok", "unverified") for r in rows) else 1
    entries = _entries(args.names)
    if args.url and len(entries) != 1:
        raise PipelineError("models download --url: give exactly one name")
    for e in entries:
        path = weights.download(e, args.dir, url=args.url, force=args.force)
        print(f"{e.name}: {path}")
    return 0

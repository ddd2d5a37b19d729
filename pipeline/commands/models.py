"""``avatar-pipeline models list|check|download``: the known checkpoints, their cache, the only download."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.commands.common import HelpFormatter, common_parser, print_json
from pipeline.errors import PipelineError

HAS_ACTIONS = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = common_parser()
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    kw = {"formatter_class": HelpFormatter, "parents": [common]}
    sub.add_parser("list", help="known checkpoints, with URL, size, SHA-256 and licence", **kw)
    check = sub.add_parser("check", help="which checkpoints are in the cache and whether they verify", **kw)
    check.add_argument("names", nargs="*", help="registry names (default: all)")
    check.add_argument("--dir", type=Path, help="cache folder (default: $AVATAR_HOME/models)")
    download = sub.add_parser("download", help="download checkpoints into the cache (verified)", **kw)
    download.add_argument("names", nargs="+", help="registry names")
    download.add_argument("--dir", type=Path, help="cache folder (default: $AVATAR_HOME/models)")
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
        entries = list(weights.REGISTRY.values())
        if args.json:
            print_json({"cache": str(weights.models_dir()), "models": [
                {"name": e.name, "kind": e.kind, "filename": e.filename, "size": e.size, "sha256": e.sha256,
                 "url": e.url, "license": e.license, "note": e.note} for e in entries]})
            return 0
        print(f"cache: {weights.models_dir()}")
        for e in entries:
            size = f"{e.size} B" if e.size else "size unknown"
            print(f"{e.name:24s} {e.kind:9s} {e.filename:28s} {size:16s} sha256 {e.sha256 or 'unknown'}")
            if not args.quiet:
                print(f"{'':24s} {e.url}  [{e.license}] {e.note}")
        return 0
    if args.action == "check":
        rows = [weights.check(e, args.dir) for e in _entries(args.names)]
        if args.json:
            print_json(rows)
        else:
            for r in rows:
                print(f"{r['name']:24s} {r['status']:14s} {r['path']}  {r['detail']}")
        return 0 if all(r["status"] in ("ok", "unverified") for r in rows) else 1
    entries = _entries(args.names)
    if args.url and len(entries) != 1:
        raise PipelineError("models download --url: give exactly one name")
    paths = {e.name: str(weights.download(e, args.dir, url=args.url, force=args.force)) for e in entries}
    if args.json:
        print_json(paths)
    else:
        for name, path in paths.items():
            print(f"{name}: {path}")
    return 0

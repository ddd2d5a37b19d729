"""``avatar-pipeline prepare``: sources → probe/filter → audio activity → frame choice, with a summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True,
                        help="csv:FILE (VGGSound rows, downloaded) | dir:DIR | glob:PATTERN | synth:DIR")
    parser.add_argument("--out", required=True, help="work folder (manifests/, videos/, frames/)")
    parser.add_argument("--workers", type=int, default=None, help="processes for probe/activity/frames (0: all cores)")
    parser.add_argument("--download-workers", type=int, default=None, help="parallel downloads (CSV sources)")
    parser.add_argument("--url-template", default=None,
                        help="download URL with {id} (default https://www.youtube.com/watch?v={id})")
    parser.add_argument("--frames-per-video", type=int, default=None, help="frames chosen per video (default 5)")
    parser.add_argument("--config", type=Path, default=None, help="YAML/JSON file of settings (see docs)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one setting, e.g. --set probe.min_short_side=240 (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def build_config(args: argparse.Namespace):
    """The :class:`PrepareConfig` from ``--config``, the shortcut flags and ``--set`` overrides (in that order)."""
    import yaml

    from pipeline.config import apply_overrides
    from pipeline.prepare import PrepareConfig

    d: dict[str, Any] = {}
    if args.config is not None:
        try:
            d = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise PipelineError(f"config {args.config}: expected a readable YAML/JSON mapping ({exc})") from exc
    shortcuts = {"workers": args.workers, "download.workers": args.download_workers,
                 "download.url_template": args.url_template, "frames.n_frames": args.frames_per_video}
    flags = [f"{k}={json.dumps(v)}" for k, v in shortcuts.items() if v is not None]
    return PrepareConfig.from_dict(apply_overrides(d, flags + list(args.overrides)))


def format_summary(summary: dict[str, Any]) -> str:
    """A plain-text table: kept/rejected per stage, then rejections per reason."""
    lines = [f"videos listed: {summary['videos']}   kept: {summary['kept_videos']}   frames: {summary['frames']}",
             "", f"{'stage':<10} {'ok':>7} {'rejected':>9}"]
    for name, s in summary["stages"].items():
        lines.append(f"{name:<10} {s['ok']:>7} {s['rejected']:>9}")
    if summary["rejected"]:
        lines += ["", f"{'reason':<18} {'videos':>7}"]
        lines += [f"{reason:<18} {n:>7}" for reason, n in summary["rejected"].items()]
    lines += ["", f"manifests: {Path(summary['out_dir']) / 'manifests'}   ({summary['elapsed_s']} s)"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from pipeline.prepare import prepare

    summary = prepare(args.source, args.out, build_config(args), progress=not args.no_progress)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0

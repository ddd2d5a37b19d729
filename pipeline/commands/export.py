"""``avatar-pipeline export``: train/val/test AVATAR-COCO release files and a dataset card."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.commands.common import add_settings, add_work_dir, emit, work_dir
from pipeline.stats import StageStats


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_work_dir(parser)
    parser.add_argument("--annotations", type=Path, default=None,
                        help="reviewed split files, review pull's output (default: <work folder>/annotations)")
    parser.add_argument("--out", type=Path, default=Path("annotations/out"), help="release folder")
    parser.add_argument("--keep-inconsistent", action="store_true", default=None,
                        help="keep frames that break their scenario's definition (listed in the card either way)")
    add_settings(parser, "export settings (keep_inconsistent)")


def _text(stats: StageStats) -> str:
    lines = [f"{'split':<6} {'videos':>7} {'frames':>7} {'instances':>10}"]
    for split, s in stats.info["splits"].items():
        lines.append(f"{split:<6} {s['videos']:>7} {s['frames']:>7} {s['instances']:>10}")
    lines.append(f"{len(stats.info['excluded'])} frame(s) break their scenario's definition (see the card)")
    lines.append(f"dataset card: {stats.info['card']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.export import ExportConfig, export
    from pipeline.layout import WorkDir

    config = load_config(ExportConfig, args.config, args.overrides, {"keep_inconsistent": args.keep_inconsistent})
    src = args.annotations or WorkDir(work_dir(args)).annotations
    emit(args, export(src, args.out, config), _text)
    return 0

"""``avatar-pipeline export``: train/val/test AVATAR-COCO release files and a dataset card."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.settings import get_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--annotations", type=Path, default=None,
                        help="reviewed split files (review pull's output; default <AVATAR_WORK_DIR>/annotations)")
    parser.add_argument("--out", type=Path, default=Path("annotations/out"), help="release folder")
    parser.add_argument("--keep-inconsistent", action="store_true",
                        help="keep frames that break their scenario's definition (listed in the card either way)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    from pipeline.export import export

    src = args.annotations or Path(get_settings().work_dir) / "annotations"
    summary = export(src, args.out, keep_inconsistent=args.keep_inconsistent)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{'split':<6} {'videos':>7} {'frames':>7} {'instances':>10}")
    for split, s in summary["splits"].items():
        print(f"{split:<6} {s['videos']:>7} {s['frames']:>7} {s['instances']:>10}")
    print(f"{len(summary['excluded'])} frame(s) break their scenario's definition (see the card)")
    print(f"dataset card: {summary['card']}")
    return 0

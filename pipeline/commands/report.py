"""``avatar-pipeline report``: what annotators kept of the proposals, per batch and backend (after a pull)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.commands.common import add_settings, add_work_dir, emit, work_dir
from pipeline.stats import StageStats


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_work_dir(parser)
    parser.add_argument("batches", nargs="*", type=Path, metavar="BATCH_DIR",
                        help="batch work folders to compare (default: the work folder, else its batches/*)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder of proposal_quality.{md,json,png} (default: <work folder>/report)")
    parser.add_argument("--no-plots", action="store_true", default=None, help="markdown and JSON only")
    add_settings(parser, "report settings (match_iou, plots)")


def _text(stats: StageStats) -> str:
    files = "\n".join(f"wrote {p}" for p in stats.info["files"])
    return stats.info["markdown"] + "\n" + files


def run(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.errors import PipelineError
    from pipeline.layout import WorkDir
    from pipeline.report import ReportConfig, quality_report, reviewed_batches

    config = load_config(ReportConfig, args.config, args.overrides, {"plots": False if args.no_plots else None})
    root = work_dir(args)
    works = [WorkDir(b) for b in args.batches] or reviewed_batches(root)
    missing = [str(w.root) for w in works if not w.table("proposals").exists()]
    if not works or missing:
        raise PipelineError(f"report: expected batch work folders with proposals, found none in "
                            f"{', '.join(missing) or str(root)} (run `avatar-pipeline propose` and a review pull "
                            "first)")
    emit(args, quality_report(works, args.out or WorkDir(root).root / "report", config), _text)
    return 0

"""``avatar-pipeline prepare``: sources → probe/filter → audio activity → frame choice, with a summary."""

from __future__ import annotations

import argparse

from pipeline.commands.common import add_settings, add_work_dir, emit, progress, work_dir
from pipeline.prepare_state import REDO_STAGES
from pipeline.stats import StageStats


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pipeline.prepare import PrepareConfig

    d = PrepareConfig()
    parser.add_argument("--source", required=True,
                        help="csv:FILE (VGGSound rows, downloaded) | dir:DIR | glob:PATTERN | synth:DIR")
    add_work_dir(parser, aliases=["--out"])
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help=f"processes for probe/activity/frames, 0: one per core (default: {d.workers})")
    parser.add_argument("--download-workers", type=int, default=None, metavar="N",
                        help=f"parallel downloads of CSV sources (default: {d.download.workers})")
    parser.add_argument("--url-template", default=None, metavar="URL",
                        help=f"download URL with {{id}} (default: {d.download.url_template})")
    parser.add_argument("--frames-per-video", type=int, default=None, metavar="N",
                        help=f"frames chosen per video (default: {d.frames.n_frames})")
    parser.add_argument("--redo", action="append", default=[], choices=REDO_STAGES, metavar="STAGE",
                        help=f"redo this stage and the later ones for every video, one of {', '.join(REDO_STAGES)} "
                             "(changed settings redo what they affect by themselves)")
    add_settings(parser, "prepare's settings (probe.*, activity.*, frames.*, download.*, workers, ...)")


def build_config(args: argparse.Namespace):
    """The :class:`PrepareConfig` from ``--config``, ``--set`` overrides and the shortcut flags (in that order)."""
    from pipeline.config import load_config
    from pipeline.prepare import PrepareConfig

    shortcuts = {"workers": args.workers, "download.workers": args.download_workers,
                 "download.url_template": args.url_template, "frames.n_frames": args.frames_per_video}
    return load_config(PrepareConfig, args.config, args.overrides, shortcuts)


def format_summary(stats: StageStats) -> str:
    """A plain-text table: kept/rejected per stage, then rejections per reason."""
    c = stats.counts
    lines = [f"videos listed: {c['videos']}   kept: {stats.kept}   frames: {c['frames']}   "
             f"(this run: {stats.processed} processed, {stats.skipped} already done)",
             "", f"{'stage':<10} {'ok':>7} {'rejected':>9}"]
    lines += [f"{name:<10} {s.kept:>7} {s.n_rejected:>9}" for name, s in stats.parts.items() if name != "filter"]
    if stats.rejected:
        lines += ["", f"{'reason':<18} {'videos':>7}"]
        lines += [f"{reason:<18} {n:>7}" for reason, n in stats.rejected.items()]
    lines += [f"reset: {r}" for r in stats.info.get("reset", [])]
    lines += ["", f"work folder: {stats.info['work_dir']}   ({stats.seconds:.1f} s)"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from pipeline.prepare import prepare

    config = build_config(args)  # every setting is checked before any work
    stats = prepare(args.source, work_dir(args), config, progress=progress(args), redo=args.redo)
    emit(args, stats, format_summary)
    return 0

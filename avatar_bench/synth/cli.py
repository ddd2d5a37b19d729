"""``avatar-synth``: generate the synthetic benchmark, draw contact sheets, check the temporal cue.

    avatar-synth generate --preset tiny|small|full --out DIR [--seed N] [--workers N]
                          [--width W --height H --fps F --duration S]
    avatar-synth contact-sheet --data DIR --out PNG [--scenario NAME | --cross-event] [--split test]
    avatar-synth check-cue --data DIR [--window 2.0] [--frames 1 2 4 8 16] [--clip-seconds 0.5 1 2 4]

Every subcommand prints a short human summary; ``--json`` prints the machine-readable result instead and
``-q`` prints nothing but errors (and no progress bar). Bad arguments or settings print one line and exit
with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from avatar_bench.cli_args import DefaultsFormatter, OneLineParser, int_at_least
from avatar_bench.errors import AvatarError
from avatar_bench.format import SCENARIOS, SPLITS
from avatar_bench.synth.config import PRESETS, SynthConfig
from avatar_bench.synth.cue import GRID_FRAMES, GRID_SECONDS

_positive_int = int_at_least(0)  # counts, seeds and sizes (0 allowed: e.g. --n-bad 0)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _seconds(text: str) -> float:
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print the result as JSON")
    group.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors, no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="avatar-synth", description="AVATAR-Synth: a synthetic audio-visual benchmark.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    sub_kw = {"formatter_class": DefaultsFormatter}
    gen = sub.add_parser("generate", help="write videos, frames, AVATAR-COCO annotations and a VGGSound CSV",
                         **sub_kw)
    gen.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    gen.add_argument("--out", required=True, help="output folder (a rerun resumes it)")
    gen.add_argument("--seed", type=_positive_int, default=0, help="dataset seed (clip i depends on seed and i)")
    gen.add_argument("--workers", type=_positive_int, default=None, help="processes (default: all cores)")
    defaults = SynthConfig()
    gen.add_argument("--width", type=_positive_int, help=f"frame width (default {defaults.width})")
    gen.add_argument("--height", type=_positive_int, help=f"frame height (default {defaults.height})")
    gen.add_argument("--fps", type=_number, help=f"frame rate (default {defaults.fps:g})")
    gen.add_argument("--duration", type=_number, help=f"clip length in seconds (default {defaults.duration_s:g})")
    for split in SPLITS:
        counts = ", ".join(f"{name} {PRESETS[name][f'n_{split}']}" for name in sorted(PRESETS))
        gen.add_argument(f"--n-{split}", type=_positive_int,
                         help=f"good clips in the {split} split (preset's: {counts})")
    gen.add_argument("--n-bad", type=_positive_int, help="clips the probe filter must reject (preset's: "
                     + ", ".join(f"{name} {PRESETS[name]['n_bad']}" for name in sorted(PRESETS)) + ")")
    gen.add_argument("--frames-per-video", type=_positive_int,
                     help=f"annotated frames per clip (default {defaults.frames_per_video})")
    gen.add_argument("--x264-preset", help=f"x264 speed preset (default {defaults.x264_preset})")
    gen.add_argument("--no-progress", action="store_true", help="no progress bar (as -q, but print the summary)")
    _output_options(gen)
    sheet = sub.add_parser("contact-sheet", help="a PNG of annotated frames with mask outlines", **sub_kw)
    sheet.add_argument("--data", required=True, help="a generated dataset folder")
    sheet.add_argument("--out", required=True, help="PNG to write")
    sheet.add_argument("--scenario", choices=SCENARIOS, default=None)
    sheet.add_argument("--split", choices=SPLITS, default="test")
    sheet.add_argument("--count", type=_positive_int, default=4, help="frames on the sheet")
    sheet.add_argument("--width", type=_positive_int, default=320, help="width of each tile")
    sheet.add_argument("--cross-event", action="store_true", help="the frames of one cross-event video")
    _output_options(sheet)
    cue = sub.add_parser("check-cue", help="temporal vs single-frame choice of the sounding look-alike", **sub_kw)
    cue.add_argument("--data", required=True, help="a generated dataset folder")
    cue.add_argument("--window", type=_seconds, default=2.0,
                     help="envelope view: seconds each side of the annotated frame, every frame, RMS per frame")
    cue.add_argument("--frames", type=_positive_int, nargs="+", default=list(GRID_FRAMES),
                     help="model's view: the T values of the grid")
    cue.add_argument("--clip-seconds", type=_seconds, nargs="+", default=list(GRID_SECONDS),
                     help="model's view: the window lengths of the grid (T frames at the centres of T segments)")
    cue.add_argument("--max-frames", type=_positive_int, default=None,
                     help="stop after about this many multi-entity frames (default: all)")
    _output_options(cue)
    return parser


def _generate(args: argparse.Namespace) -> int:
    from avatar_bench.synth.generate import generate

    overrides = {"width": args.width, "height": args.height, "fps": args.fps, "duration_s": args.duration,
                 "n_train": args.n_train, "n_val": args.n_val, "n_test": args.n_test, "n_bad": args.n_bad,
                 "frames_per_video": args.frames_per_video, "x264_preset": args.x264_preset}
    summary = generate(args.out, preset=args.preset, seed=args.seed, workers=args.workers,
                       progress=not (args.no_progress or args.quiet or args.json),
                       **{k: v for k, v in overrides.items() if v is not None})
    _report(args, summary, f"wrote {summary['videos']} clips of the {args.preset} preset to {args.out} "
                           f"({summary['made']} made, {summary['kept']} kept, {summary['seconds']:.1f} s)")
    return 0


def _report(args: argparse.Namespace, result: dict, text: str) -> None:
    if args.json:
        print(json.dumps(result, indent=2))
    elif not args.quiet:
        print(text)


def _contact_sheet(args: argparse.Namespace) -> int:
    from avatar_bench.synth.contact import contact_sheet

    n = contact_sheet(args.data, args.out, scenario=args.scenario, split=args.split, count=args.count,
                      tile_width=args.width, cross_event=args.cross_event)
    _report(args, {"out": str(args.out), "frames": n}, f"wrote {args.out} ({n} frames)")
    return 0


def _check_cue(args: argparse.Namespace) -> int:
    from avatar_bench.synth.cue import cue_check, format_model_view, model_view_check

    envelope = cue_check(args.data, window_s=args.window, max_frames=args.max_frames)
    view = model_view_check(args.data, frames=args.frames, seconds=args.clip_seconds, max_frames=args.max_frames)
    text = (f"envelope view, {envelope['frames']} multi-entity frames, every frame within +-{args.window:g} s: "
            f"temporal {100 * envelope['temporal_accuracy']:.1f}%, brightest "
            f"{100 * envelope['single_frame_brightest']:.1f}%, largest {100 * envelope['single_frame_largest']:.1f}%, "
            f"chance {100 * envelope['chance']:.1f}%\n" + format_model_view(view))
    _report(args, {**envelope, "model_view": view}, text)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``avatar-synth`` console script."""
    args = build_parser().parse_args(argv)
    handlers = {"generate": _generate, "contact-sheet": _contact_sheet, "check-cue": _check_cue}
    try:
        return handlers[args.command](args)
    except AvatarError as exc:
        print(f"avatar-synth: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("avatar-synth: interrupted (rerun the same command to resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

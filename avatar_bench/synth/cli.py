"""``avatar-synth``: generate the synthetic benchmark, draw contact sheets, check the temporal cue.

    avatar-synth generate --preset tiny|small|full --out DIR [--seed N] [--workers N]
                          [--width W --height H --fps F --duration S]
    avatar-synth contact-sheet --data DIR --out PNG [--scenario NAME | --cross-event] [--split test]
    avatar-synth check-cue --data DIR [--window 2.0]

Bad arguments or settings print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from avatar_bench.errors import AvatarError
from avatar_bench.format import SCENARIOS, SPLITS
from avatar_bench.synth.config import PRESETS


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument on one line (and exits 2) instead of printing the usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"avatar-synth: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="avatar-synth", description="AVATAR-Synth: a synthetic audio-visual benchmark.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    gen = sub.add_parser("generate", help="write videos, frames, AVATAR-COCO annotations and a VGGSound CSV")
    gen.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    gen.add_argument("--out", required=True, help="output folder (a rerun resumes it)")
    gen.add_argument("--seed", type=_positive_int, default=0)
    gen.add_argument("--workers", type=_positive_int, default=None, help="processes (default: all cores)")
    gen.add_argument("--width", type=_positive_int)
    gen.add_argument("--height", type=_positive_int)
    gen.add_argument("--fps", type=_number)
    gen.add_argument("--duration", type=_number, help="clip length in seconds")
    for split in SPLITS:
        gen.add_argument(f"--n-{split}", type=_positive_int, help=f"good clips in the {split} split")
    gen.add_argument("--n-bad", type=_positive_int, help="clips the probe filter must reject")
    gen.add_argument("--frames-per-video", type=_positive_int)
    gen.add_argument("--x264-preset")
    gen.add_argument("--no-progress", action="store_true")
    sheet = sub.add_parser("contact-sheet", help="a PNG of annotated frames with mask outlines")
    sheet.add_argument("--data", required=True, help="a generated dataset folder")
    sheet.add_argument("--out", required=True, help="PNG to write")
    sheet.add_argument("--scenario", choices=SCENARIOS, default=None)
    sheet.add_argument("--split", choices=SPLITS, default="test")
    sheet.add_argument("--count", type=_positive_int, default=4, help="frames on the sheet")
    sheet.add_argument("--width", type=_positive_int, default=320, help="width of each tile")
    sheet.add_argument("--cross-event", action="store_true", help="the frames of one cross-event video")
    cue = sub.add_parser("check-cue", help="temporal vs single-frame choice of the sounding look-alike")
    cue.add_argument("--data", required=True)
    cue.add_argument("--window", type=_number, default=2.0, help="seconds each side of the frame")
    return parser


def _generate(args: argparse.Namespace) -> int:
    from avatar_bench.synth.generate import generate

    overrides = {"width": args.width, "height": args.height, "fps": args.fps, "duration_s": args.duration,
                 "n_train": args.n_train, "n_val": args.n_val, "n_test": args.n_test, "n_bad": args.n_bad,
                 "frames_per_video": args.frames_per_video, "x264_preset": args.x264_preset}
    summary = generate(args.out, preset=args.preset, seed=args.seed, workers=args.workers,
                       progress=not args.no_progress, **{k: v for k, v in overrides.items() if v is not None})
    print(json.dumps(summary, indent=2))
    return 0


def _contact_sheet(args: argparse.Namespace) -> int:
    from avatar_bench.synth.contact import contact_sheet

    n = contact_sheet(args.data, args.out, scenario=args.scenario, split=args.split, count=args.count,
                      tile_width=args.width, cross_event=args.cross_event)
    print(f"wrote {args.out} ({n} frames)")
    return 0


def _check_cue(args: argparse.Namespace) -> int:
    from avatar_bench.synth.cue import cue_check

    print(json.dumps(cue_check(args.data, window_s=args.window), indent=2))
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

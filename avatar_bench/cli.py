"""``avatar-eval``: score a submission against AVATAR-COCO ground truth and print the per-scenario table.

    avatar-eval --gt test.json --pred SUBMISSION [--binarize relative|absolute] [--tau 0.5]
                [--scenarios single,mixed] [--out results/] [--frames DIR] [--no-plots] [--workers N]
    avatar-eval --gt test.json --pred SUBMISSION --validate-only
    avatar-eval --gt RELEASE/metadata --pred SUBMISSION [--protocol lvs-native|peers-224] [--task-map 'S=mixed']

Exit status: 0 scored (or valid), 2 bad input (the message lists every problem; never a traceback),
130 interrupted. Imports stay light: numpy and pycocotools; OpenCV when scoring, matplotlib when plotting.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from avatar_bench.errors import EXIT_BAD_INPUT, run_cli
from avatar_bench.format import SCENARIOS
from avatar_bench.protocols import DEFAULT_PROTOCOL, PROTOCOLS


def _scenarios(text: str) -> list[str]:
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {','.join(SCENARIOS)}, got {text!r}")
    return chosen


def _tau(text: str) -> float:
    try:
        tau = float(text)
    except ValueError:
        tau = float("nan")
    if not 0.0 <= tau <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return tau


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="avatar-eval", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gt", required=True, help="AVATAR-COCO ground-truth file (e.g. test.json), or the released "
                   "benchmark's metadata folder (imported in memory, cached by content hash)")
    p.add_argument("--pred", required=True, help="submission: a directory, .zip or .npz of per-frame heatmaps")
    p.add_argument("--binarize", choices=("relative", "absolute"), default="relative",
                   help="relative: LVS top-50%% of the resized map (default); absolute: pixels >= tau")
    p.add_argument("--tau", type=_tau, default=0.5, help="absolute threshold; off-screen TN uses it (default 0.5)")
    p.add_argument("--scenarios", type=_scenarios, default=None,
                   help=f"comma-separated scenarios to score (default: all of {','.join(SCENARIOS)})")
    p.add_argument("--out", help="write results.json, results.csv, per_frame.csv and plots/ here")
    p.add_argument("--frames", help="frames root (Image.file_name is relative to it) for qualitative overlays")
    p.add_argument("--no-plots", action="store_true", help="do not render plots under --out")
    p.add_argument("--workers", type=int, default=None,
                   help="processes (default on 2,000+ frames: the idle cores = cores - load average, >= 1)")
    p.add_argument("--validate-only", action="store_true", help="only check the submission (exit 0 if valid)")
    p.add_argument("--protocol", choices=sorted(PROTOCOLS), default=DEFAULT_PROTOCOL,
                   help=f"scoring grid and relative rule (default {DEFAULT_PROTOCOL}: LVS at the GT's resolution; "
                        "peers-224: GT and heatmap at 224x224, >= median; see docs/release.md)")
    p.add_argument("--task-map", action="append", default=[], metavar="STRING=SCENARIO",
                   help="with a release folder as --gt: read a task string as a scenario (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def _validate(args, gt) -> int:
    from avatar_bench.submission import open_submission

    sub = open_submission(args.pred, gt, scenarios=args.scenarios)
    print(f"{args.pred}: valid submission, {len(sub)} frame(s) checked")
    return 0


def _evaluate(args, gt) -> int:
    from avatar_bench.evaluate import evaluate
    from avatar_bench.report import format_table, write_outputs

    start = time.perf_counter()
    result = evaluate(gt, args.pred, binarize=args.binarize, tau=args.tau, scenarios=args.scenarios,
                      progress=not args.quiet, workers=args.workers, protocol=args.protocol)
    print(format_table(result.summary, result.settings))
    print(f"({result.summary['n_frames']} frames scored in {time.perf_counter() - start:.1f} s)")
    if args.out:
        paths = write_outputs(result, gt, args.out, plots=not args.no_plots, frames_root=args.frames)
        print(f"wrote {len(paths)} file(s) under {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``avatar-eval``; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="avatar-eval: %(levelname)s: %(message)s")
    if args.workers is not None and args.workers < 1:
        print("avatar-eval: error: --workers must be >= 1", file=sys.stderr)
        return EXIT_BAD_INPUT
    return run_cli("avatar-eval", lambda: _run(args))


def _run(args) -> int:
    from avatar_bench.release.cli import load_gt_for

    gt = load_gt_for(args)
    return _validate(args, gt) if args.validate_only else _evaluate(args, gt)


if __name__ == "__main__":
    sys.exit(main())

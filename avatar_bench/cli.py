"""``avatar-eval``: score a submission against AVATAR-COCO ground truth and print the per-scenario table.

    avatar-eval --gt test.json --pred SUBMISSION [--binarize relative|absolute] [--tau 0.5]
                [--scenarios single,mixed] [--out results/] [--frames DIR] [--no-plots] [--workers N]
                [--allow-scenario-violations] [--json] [-q]
    avatar-eval --gt test.json --pred SUBMISSION --validate-only
    avatar-eval --gt RELEASE/metadata --pred SUBMISSION [--protocol lvs-native|peers-224] [--task-map 'S=mixed']

Exit status: 0 scored (or valid), 2 bad input (the message lists every problem; never a traceback),
130 interrupted. Imports stay light: numpy and pycocotools; OpenCV when scoring, matplotlib when plotting.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from avatar_bench.errors import EXIT_BAD_INPUT, AvatarError, run_cli
from avatar_bench.format import SCENARIOS
from avatar_bench.protocols import DEFAULT_PROTOCOL, PROTOCOLS

MAX_WORKERS = 256  # each worker is a forked process


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown in --help, the module docstring kept as written. A default that is no value (None, an
    unset flag) is said in the option's own help instead of a bare "(default: None)"."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or action.required:
            return action.help
        return super()._get_help_string(action)


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
    p = argparse.ArgumentParser(prog="avatar-eval", description=__doc__.split("\n")[0], formatter_class=_Formatter)
    p.add_argument("--gt", required=True, help="AVATAR-COCO ground-truth file (e.g. test.json), or the released "
                   "benchmark's metadata folder (imported in memory, cached by content hash)")
    p.add_argument("--pred", required=True, help="submission: a directory, .zip or .npz of per-frame heatmaps")
    p.add_argument("--binarize", choices=("relative", "absolute"), default="relative",
                   help="relative: LVS top-50%% of the resized map; absolute: pixels >= tau")
    p.add_argument("--tau", type=_tau, default=0.5, help="absolute threshold; off-screen TN uses it")
    p.add_argument("--scenarios", type=_scenarios, default=None,
                   help=f"comma-separated scenarios to score (default: all of {','.join(SCENARIOS)})")
    p.add_argument("--out", help="write results.json, results.csv, per_frame.csv and plots/ here")
    p.add_argument("--frames", help="frames root (Image.file_name is relative to it) for qualitative overlays")
    p.add_argument("--no-plots", action="store_true", help="do not render plots under --out")
    p.add_argument("--workers", type=int, default=None,
                   help="processes (default: on 2,000+ frames read from files, the idle cores = cores - load average, "
                        "at least 1; else 1)")
    p.add_argument("--validate-only", action="store_true",
                   help="run every check scoring runs, score nothing (exit 0 if it would score)")
    p.add_argument("--protocol", choices=sorted(PROTOCOLS), default=DEFAULT_PROTOCOL,
                   help="scoring grid and relative rule (lvs-native: LVS at the GT's resolution; "
                        "peers-224: GT and heatmap at 224x224, >= median; see docs/release.md)")
    p.add_argument("--task-map", action="append", default=[], metavar="STRING=SCENARIO",
                   help="with a release folder as --gt: read a task string as a scenario (repeatable)")
    p.add_argument("--allow-scenario-violations", action="store_true",
                   help="score frames that break their scenario's definition, with a warning (work in progress; "
                        "a released ground truth must not need it)")
    p.add_argument("--json", action="store_true", help="print the results object (results.json) as JSON, no table")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no progress lines")
    return p


def _say(args, text: str) -> None:
    """A progress line: on stderr when stdout carries JSON, nowhere with -q."""
    if not args.quiet:
        print(text, file=sys.stderr if args.json else sys.stdout)


def _check_paths(args) -> None:
    """Refuse a --frames or --out that cannot work before any frame is read (not after scoring 24k frames)."""
    if args.frames is not None and not Path(args.frames).is_dir():
        raise AvatarError(f"--frames {args.frames}: expected a directory of frame images, found none")
    if args.out is not None:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise AvatarError(f"--out {out}: exists and is not a directory")
        parent = next((p for p in (out, *out.parents) if p.exists()), Path("."))
        if not os.access(parent, os.W_OK | os.X_OK):
            raise AvatarError(f"--out {out}: {parent} is not writable")


def _validate(args, gt) -> int:
    from avatar_bench.evaluate import validate

    found = validate(gt, args.pred, scenarios=args.scenarios, progress=not args.quiet, workers=args.workers,
                     allow_scenario_violations=args.allow_scenario_violations)
    if args.json:
        print(json.dumps(found.to_dict(), indent=2, allow_nan=False))
    else:
        print(f"{args.pred}: valid submission, {found.frames} frame(s) checked")
    return 0


def _evaluate(args, gt) -> int:
    from avatar_bench.evaluate import evaluate
    from avatar_bench.report import format_table, write_outputs

    start = time.perf_counter()
    result = evaluate(gt, args.pred, binarize=args.binarize, tau=args.tau, scenarios=args.scenarios,
                      progress=not args.quiet, workers=args.workers, protocol=args.protocol,
                      allow_scenario_violations=args.allow_scenario_violations)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        print(format_table(result.summary, result.settings))
    _say(args, f"({result.summary['n_frames']} frames scored in {time.perf_counter() - start:.1f} s)")
    if args.out:
        paths = write_outputs(result, gt, args.out, plots=not args.no_plots, frames_root=args.frames)
        _say(args, f"wrote {len(paths)} file(s) under {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``avatar-eval``; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="avatar-eval: %(levelname)s: %(message)s")
    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        print(f"avatar-eval: error: --workers: expected 1 to {MAX_WORKERS}, got {args.workers}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return run_cli("avatar-eval", lambda: _run(args))


def _run(args) -> int:
    from avatar_bench.release.cli import load_gt_for

    _check_paths(args)
    gt = load_gt_for(args)
    return _validate(args, gt) if args.validate_only else _evaluate(args, gt)


if __name__ == "__main__":
    sys.exit(main())

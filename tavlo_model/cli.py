"""The ``tavlo-train`` and ``tavlo-infer`` command lines.

Arguments and the config are parsed and checked before torch is imported (``--help`` and a bad flag answer at
once), and every expected mistake is one line on stderr with exit status 2, never a traceback. ``-q`` prints
nothing but errors and shows no progress bar; ``--json`` prints the result as strict JSON (no NaN).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys

from avatar_bench.cli_args import DefaultsFormatter, OneLineParser, int_at_least
from avatar_bench.errors import AvatarError
from tavlo_model.config import DataConfig, TrainConfig, load_config, to_dict
from tavlo_model.logger import strict_json


def _fields_help() -> str:
    """The top-level and data fields with their defaults (the model's: --print-config)."""
    def rows(cls, prefix: str) -> list[str]:
        out = []
        for f in dataclasses.fields(cls):
            if not dataclasses.is_dataclass(f.type) and f.name not in ("model", "data"):
                default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
                out.append(f"  --{prefix}{f.name}={default!r}")
        return out
    return "\n".join(["config fields (--key=value or --key value; dashes or underscores; defaults shown):",
                      *rows(TrainConfig, ""), *rows(DataConfig, "data."),
                      "  --model.FIELD=...   (the variant's fields: tavlo-train --print-config --model.name=NAME)"])


def _output_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors, no progress bar")
    group.add_argument("--json", action="store_true", help="print the result as one strict JSON object")


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def train_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="tavlo-train", allow_abbrev=False, epilog=_fields_help(),
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           description="Train TAVLO or the single-frame baseline (one process, or torchrun DDP).")
    parser.add_argument("--config", help="YAML config (default: the built-in defaults of model.name)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    _output_flags(parser)
    return parser


def train_main(argv: list[str] | None = None) -> int:
    """Console entry point of ``tavlo-train``."""
    parser = train_parser()
    args, overrides = parser.parse_known_args(argv)
    _setup_logging(args.quiet or args.json)
    try:
        cfg = load_config(args.config, overrides)
        if args.print_config:
            import yaml

            print(yaml.safe_dump(to_dict(cfg), sort_keys=False), end="")
            return 0
        from tavlo_model.train import check_inputs, train  # torch from here on

        check_inputs(cfg)
        summary = train(cfg, progress=not (args.quiet or args.json))
    except AvatarError as exc:
        print(f"tavlo-train: error: {exc}", file=sys.stderr)
        return 2
    from tavlo_model import dist

    if dist.is_main():
        if args.json:
            print(json.dumps(strict_json(summary), allow_nan=False))
        elif not args.quiet:
            best = summary["best_score"]
            print(f"tavlo-train: {summary['steps']} steps, {summary['epochs']} epochs in "
                  f"{summary['train_seconds'] / 60:.1f} min; best score {best if best is None else round(best, 4)}; "
                  f"checkpoint {summary['checkpoint']}")
    return 0


def infer_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="tavlo-infer", formatter_class=DefaultsFormatter,
                           description="Heatmaps of every annotated frame, written as an avatar-eval submission.")
    parser.add_argument("--ckpt", required=True, help="checkpoint written by tavlo-train (best.pt or last.pt)")
    parser.add_argument("--gt", required=True, help="AVATAR-COCO file whose annotated frames are scored, or the "
                        "released benchmark's metadata folder")
    parser.add_argument("--videos", required=True, help="folder of the videos (<video name>.mp4)")
    parser.add_argument("--out", required=True, help="submission: .npz, .zip or a new (or empty) directory")
    parser.add_argument("--keys", default="auto", choices=("auto", "id", "release"),
                        help="submission keys: image ids, or the release's <folder>/<frame:05d> (auto: the release's "
                             "for an imported release, else ids)")
    parser.add_argument("--batch-size", type=int_at_least(1), default=32, help="clips per forward pass")
    parser.add_argument("--workers", type=int_at_least(0), default=2, help="decoding processes (0: in this one)")
    parser.add_argument("--cache-dir", default="", help="frame cache folder (speeds up repeated runs; default: none)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    _output_flags(parser)
    return parser


def infer_main(argv: list[str] | None = None) -> int:
    """Console entry point of ``tavlo-infer``."""
    args = infer_parser().parse_args(argv)
    _setup_logging(args.quiet or args.json)
    try:
        from avatar_bench.release import load_gt, submission_keys
        from tavlo_model.infer import check_out, predict, write  # torch from here on

        check_out(args.out)
        gt = load_gt(args.gt)
        heatmaps = predict(args.ckpt, gt, args.videos, args.batch_size, args.workers, args.cache_dir, args.device,
                           progress=not (args.quiet or args.json))
        write(args.out, submission_keys(gt, heatmaps, args.keys))
    except AvatarError as exc:
        print(f"tavlo-infer: error: {exc}", file=sys.stderr)
        return 2
    result = {"heatmaps": len(heatmaps), "annotated_frames": len(gt.images), "out": str(args.out)}
    if args.json:
        print(json.dumps(result))
    elif not args.quiet:
        print(f"wrote {len(heatmaps)} heatmaps for {len(gt.images)} annotated frames to {args.out}")
    return 0

"""``avatar-pipeline propose``: detector + audio tagger + segmenter proposals and scenario rules over the frames."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.commands.common import add_settings, add_work_dir, emit, progress, work_dir
from pipeline.stats import StageStats


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pipeline.proposals.config import DETECTORS, SEGMENTERS, TAGGERS, ProposeConfig

    d = ProposeConfig()
    add_work_dir(parser)
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--no-weights", action="store_true", help="all backends 'none': frames go to review bare")
    preset.add_argument("--cpu-demo", metavar="MODELS_DIR",
                        help="YOLOv8n int8 ONNX + YAMNet from MODELS_DIR, GrabCut masks (no SAM)")
    parser.add_argument("--detector", choices=DETECTORS, help=f"detector backend (default: {d.detector})")
    parser.add_argument("--detector-model", help="registry name, .pt/.onnx path or .yaml architecture "
                                                 f"(default: {d.detector_options['model']})")
    parser.add_argument("--tagger", choices=TAGGERS, help=f"audio tagger backend (default: {d.tagger})")
    parser.add_argument("--tagger-model", help="tagger checkpoint (registry name or path)")
    parser.add_argument("--segmenter", choices=SEGMENTERS, help="segmenter backend; auto: SAM when its checkpoint "
                        f"is present, else GrabCut (no weights) (default: {d.segmenter})")
    parser.add_argument("--segmenter-checkpoint", help="SAM checkpoint, registry name or path "
                                                       f"(default: {d.segmenter_options['checkpoint']})")
    parser.add_argument("--device", help=f"auto | cpu | cuda | cuda:N (default: {d.device})")
    parser.add_argument("--batch-size", type=int, metavar="N", help=f"frames per batch (default: {d.batch_size})")
    stale = parser.add_argument_group("frames proposed with other settings and already pushed to Label Studio "
                                      "(the others are proposed again by themselves)")
    pushed = stale.add_mutually_exclusive_group()
    pushed.add_argument("--keep-pushed", dest="pushed", action="store_const", const="keep",
                        help="keep the proposals their tasks show")
    pushed.add_argument("--redo-pushed", dest="pushed", action="store_const", const="redo",
                        help="propose them again (the next review push updates the tasks not annotated yet)")
    add_settings(parser, "propose's settings (detector_options.*, rules.*, top_k_tags, ...)")


def build_config(args: argparse.Namespace):
    """The :class:`ProposeConfig`: a preset, then ``--config``, ``--set`` and the flags."""
    from pipeline.config import load_config
    from pipeline.proposals.config import ProposeConfig

    base: dict[str, Any] = {}
    if args.no_weights:
        base = ProposeConfig.no_weights_dict()
    elif args.cpu_demo:
        base = ProposeConfig.cpu_demo_dict(args.cpu_demo)
    values = {"detector": args.detector, "tagger": args.tagger, "segmenter": args.segmenter,
              "device": args.device, "batch_size": args.batch_size, "detector_options.model": args.detector_model,
              "segmenter_options.checkpoint": args.segmenter_checkpoint}
    config = load_config(ProposeConfig, args.config, args.overrides, values, base=base)
    if args.tagger_model:  # YAMNet takes a model file, CAV-MAE a checkpoint
        key = "model" if config.tagger == "yamnet" else "checkpoint"
        config = load_config(ProposeConfig, None, (), {f"tagger_options.{key}": args.tagger_model},
                             base=config.to_dict())
    return config


def run(args: argparse.Namespace) -> int:
    from pipeline.progress import bar
    from pipeline.proposals.propose import propose, read_frames

    work = work_dir(args)
    config = build_config(args)  # checked before any model loads
    with bar(total=len(read_frames(work)), unit="frame", desc="propose", enabled=progress(args)) as pbar:
        stats = propose(work, config, progress=pbar.update, pushed=args.pushed)
    emit(args, stats, _text)
    return 0


def _text(stats: StageStats) -> str:
    rate = stats.info.get("frames_per_s")
    redone = (f"\nproposed again (made with other settings): {stats.counts['stale_redone']}"
              if stats.counts.get("stale_redone") else "")
    kept = (f"\nkept as pushed to Label Studio (made with other settings): {stats.counts['stale_kept_pushed']}"
            if stats.counts.get("stale_kept_pushed") else "")
    return (StageStats.text(stats) + redone + kept + (f"\n{rate} frames/s" if rate else "")
            + f"\nproposals: {stats.info['manifest']}")

"""``avatar-pipeline propose``: detector + audio tagger + segmenter proposals and scenario rules over frames.parquet."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.errors import PipelineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", type=Path, default=None, help="pipeline work folder (default $AVATAR_WORK_DIR)")
    parser.add_argument("--config", type=Path, help="YAML/JSON file of ProposeConfig fields (CLI flags override it)")
    parser.add_argument("--no-weights", action="store_true", help="all backends 'none': frames go to review bare")
    parser.add_argument("--cpu-demo", metavar="MODELS_DIR",
                        help="YOLOv8n int8 ONNX + YAMNet from MODELS_DIR, GrabCut masks")
    parser.add_argument("--detector", choices=["yolo", "none"])
    parser.add_argument("--detector-model", help="registry name, .pt/.onnx path or .yaml architecture")
    parser.add_argument("--tagger", choices=["cavmae", "yamnet", "none"])
    parser.add_argument("--tagger-model", help="tagger checkpoint (registry name or path)")
    parser.add_argument("--segmenter", choices=["auto", "sam", "grabcut", "none"],
                        help="auto (default): SAM when its checkpoint is present, else GrabCut (no weights)")
    parser.add_argument("--segmenter-checkpoint", help="SAM checkpoint (registry name or path)")
    parser.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--batch-size", type=int, help="frames per detector/segmenter batch")


def _load_config(args: argparse.Namespace):
    from pipeline.proposals.config import ProposeConfig

    if args.no_weights:
        cfg = ProposeConfig.no_weights().to_dict()
    elif args.cpu_demo:
        cfg = ProposeConfig.cpu_demo(args.cpu_demo).to_dict()
    else:
        cfg = {}
    if args.config:
        import yaml

        try:
            cfg.update(yaml.safe_load(args.config.read_text(encoding="utf-8")) or {})
        except (OSError, yaml.YAMLError) as exc:
            raise PipelineError(f"config {args.config}: cannot read it ({exc})") from None
    for flag, key in (("detector", "detector"), ("tagger", "tagger"), ("segmenter", "segmenter"),
                      ("device", "device"), ("batch_size", "batch_size")):
        if getattr(args, flag) is not None:
            cfg[key] = getattr(args, flag)
    for flag, section, key in (("detector_model", "detector_options", "model"),
                               ("tagger_model", "tagger_options", "model" if cfg.get("tagger") == "yamnet"
                                else "checkpoint"),
                               ("segmenter_checkpoint", "segmenter_options", "checkpoint")):
        if getattr(args, flag):
            cfg[section] = {**cfg.get(section, {}), key: getattr(args, flag)}
    return ProposeConfig.from_dict(cfg)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipeline.proposals.propose import propose, read_frames
    from pipeline.settings import get_settings

    work = args.work_dir or get_settings().work_dir
    cfg = _load_config(args)
    total = len(read_frames(work))
    with tqdm(total=total, unit="frame", desc="propose") as bar:
        summary = propose(work, cfg, progress=bar.update)
    print(json.dumps(summary, indent=2))
    return 0

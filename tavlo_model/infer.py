"""``tavlo-infer``: heatmaps of every annotated frame, written as an ``avatar-eval`` submission.

    tavlo-infer --ckpt runs/tavlo/best.pt --gt synth/annotations/test.json --videos synth/videos --out sub.npz
    tavlo-infer --ckpt best.pt --gt AVATAR/metadata --videos AVATAR/video --out sub.npz   # the released benchmark

Each annotated frame is scored from the T-frame window that puts it at position T//2 (the window of
``tavlo_model.data``). Scores are absolute, in [0, 1]: ``sigmoid((cosine - c) / tau)`` with the centre ``c``
calibrated on validation clips during training and stored in the checkpoint (``tavlo_model.heatmap``), so an
off-screen frame whose peak similarity stays under ``c`` has an empty mask at the absolute threshold 0.5.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch

from avatar_bench.errors import AvatarError
from avatar_bench.format import AvatarDataset
from avatar_bench.release import load_gt, submission_keys
from tavlo_model.checkpoint import load_checkpoint
from tavlo_model.config import TrainConfig, config_from_dict
from tavlo_model.data import ClipDataset, items_from_gt
from tavlo_model.dist import pick_device
from tavlo_model.engine import evaluate
from tavlo_model.errors import TavloError
from tavlo_model.heatmap import Calibration
from tavlo_model.model import Tavlo
from tavlo_model.train import make_loader

log = logging.getLogger("tavlo_model.infer")


def load_model(ckpt_path: str | os.PathLike, device: torch.device) -> tuple[Tavlo, Calibration | None, TrainConfig]:
    """The model of a checkpoint (eval mode), its calibration (None when never fitted) and its training config."""
    ckpt = load_checkpoint(ckpt_path, map_location="cpu")
    cfg = config_from_dict(ckpt["config"])
    cfg.model.visual_weights = ""  # the checkpoint holds the trained weights
    model = Tavlo(cfg.model)
    model.load_state_dict(ckpt["model"])
    cal = ckpt.get("calibration")
    fitted = cal is not None and not math.isnan(cal.get("pos_median", math.nan))
    return model.to(device).eval(), Calibration(**cal) if fitted else None, cfg


def predict(ckpt_path: str | os.PathLike, gt: AvatarDataset, video_dir: str | os.PathLike, batch_size: int = 32,
            workers: int = 2, cache_dir: str = "", device: str = "auto") -> dict[int, np.ndarray]:
    """Heatmaps ``image id -> (S, S) float32 in [0, 1]`` for every annotated frame of ``gt``."""
    dev = pick_device(device)
    model, cal, cfg = load_model(ckpt_path, dev)
    if cal is None:
        log.warning("%s has no calibration (trained without validation): fitting it on these clips", ckpt_path)
    cfg.data.cache_dir = cache_dir
    items = items_from_gt(gt, video_dir)
    missing = [it.path for it in items if not Path(it.path).is_file()]
    if missing:
        raise TavloError(f"videos: {len(set(missing))} annotated video(s) not found, e.g. {missing[0]}")
    loader = make_loader(ClipDataset(items, cfg.model, cfg.data, train=False), None, batch_size, workers, False, dev)
    _, _, heatmaps = evaluate(model, _progress(loader), dev, num_negatives=1, calibration=cal)
    return heatmaps


def _progress(loader):
    try:
        from tqdm import tqdm
    except ImportError:
        return loader
    return tqdm(loader, desc="tavlo-infer", unit="batch", disable=None)


def write(path: str | os.PathLike, heatmaps: dict[int, np.ndarray]) -> None:
    """Write a submission ``avatar-eval`` reads (``avatar_bench.submission.write_submission``)."""
    from avatar_bench.submission import write_submission

    write_submission(path, heatmaps)


def main(argv: list[str] | None = None) -> int:
    """Console entry point of ``tavlo-infer``."""
    parser = argparse.ArgumentParser(prog="tavlo-infer", description=__doc__.split("\n")[0])
    parser.add_argument("--ckpt", required=True, help="checkpoint written by tavlo-train (best.pt or last.pt)")
    parser.add_argument("--gt", required=True, help="AVATAR-COCO file whose annotated frames are scored, or the "
                        "released benchmark's metadata folder")
    parser.add_argument("--videos", required=True, help="folder of the videos (<video name>.mp4)")
    parser.add_argument("--out", required=True, help="submission: .npz, .zip or a directory")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="decoding processes")
    parser.add_argument("--cache-dir", default="", help="frame cache folder (speeds up repeated runs)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--keys", default="auto", choices=("auto", "id", "release"),
                        help="submission keys: image ids, or the release's <folder>/<frame:05d> (auto: the release's "
                             "for an imported release, else ids)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        gt = load_gt(args.gt)
        heatmaps = predict(args.ckpt, gt, args.videos, args.batch_size, args.workers, args.cache_dir, args.device)
        write(args.out, submission_keys(gt, heatmaps, args.keys))
    except (TavloError, AvatarError) as exc:
        print(f"tavlo-infer: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(heatmaps)} heatmaps for {len(gt.images)} annotated frames to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``tavlo-infer``: heatmaps of every annotated frame, written as an ``avatar-eval`` submission.

    tavlo-infer --ckpt runs/tavlo/best.pt --gt synth/annotations/test.json --videos synth/videos --out sub.npz
    tavlo-infer --ckpt best.pt --gt AVATAR/metadata --videos AVATAR/video --out sub.npz   # the released benchmark

Each annotated frame is scored from the T-frame window that puts it at position T//2 (the window of
``tavlo_model.data``). Scores are absolute, in [0, 1]: ``sigmoid((cosine - c) / tau)`` with the centre ``c``
calibrated on validation clips during training and stored in the checkpoint (``tavlo_model.heatmap``), so an
off-screen frame whose peak similarity stays under ``c`` has an empty mask at the absolute threshold 0.5.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch

from avatar_bench.format import AvatarDataset
from tavlo_model.checkpoint import check_writable, load_checkpoint
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
    """The model of a checkpoint (eval mode), its calibration (None when never fitted) and its training config.

    Raises:
        TavloError: the checkpoint's state dict does not fit the model its config describes, holds NaN or
            infinite weights, or its calibration is not finite or has ``tau <= 0``.
    """
    ckpt = load_checkpoint(ckpt_path, map_location="cpu")
    cfg = config_from_dict(ckpt["config"])
    cfg.model.visual_weights = ""  # the checkpoint holds the trained weights
    model = Tavlo(cfg.model)
    _check_state(ckpt_path, model.state_dict(), ckpt["model"])
    model.load_state_dict(ckpt["model"])
    cal = ckpt.get("calibration")
    if cal is not None:
        _check_calibration(ckpt_path, cal)
    fitted = cal is not None and not math.isnan(cal.get("pos_median", math.nan))
    return model.to(device).eval(), Calibration(**cal) if fitted else None, cfg


def _check_state(path, own: dict, state: dict) -> None:
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    shapes = [f"{k}: model {tuple(own[k].shape)}, checkpoint {tuple(v.shape)}" for k, v in state.items()
              if k in own and tuple(own[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        raise TavloError(f"checkpoint {path}: its state dict does not fit the model its config describes: "
                         f"{len(missing)} missing {missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, "
                         f"{len(shapes)} of another shape {shapes[:3]}")
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise TavloError(f"checkpoint {path}: expected finite weights, found NaN or inf in {len(bad)} tensor(s), "
                         f"e.g. {bad[:3]}")


def _check_calibration(path, cal: dict) -> None:
    fields = {k: cal.get(k) for k in ("center", "tau")}
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in fields.values()) or fields["tau"] <= 0:
        raise TavloError(f"checkpoint {path}: calibration: expected a finite center and tau > 0, got {fields}")


def check_out(path: str | os.PathLike) -> None:
    """Refuse, before inference, an ``--out`` that ``write_submission`` would refuse or cannot write."""
    out = Path(path)
    if out.suffix.lower() in (".npz", ".zip"):
        if out.is_dir():
            raise TavloError(f"--out {out}: expected a .npz/.zip file path, found a folder")
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TavloError(f"--out {out}: expected a .npz or .zip path, or a new or empty folder; found a "
                         f"{'non-empty folder' if out.is_dir() else 'file'}")
    check_writable(out.parent, "--out folder")


def predict(ckpt_path: str | os.PathLike, gt: AvatarDataset, video_dir: str | os.PathLike, batch_size: int = 32,
            workers: int = 2, cache_dir: str = "", device: str = "auto",
            progress: bool = False) -> dict[int, np.ndarray]:
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
    batches = _progress(loader) if progress else loader
    _, _, heatmaps = evaluate(model, batches, dev, num_negatives=1, calibration=cal)
    return heatmaps


def _progress(loader):
    from tqdm import tqdm

    return tqdm(loader, desc="tavlo-infer", unit="batch", disable=None)


def write(path: str | os.PathLike, heatmaps: dict[int, np.ndarray]) -> None:
    """Write a submission ``avatar-eval`` reads (``avatar_bench.submission.write_submission``)."""
    from avatar_bench.submission import write_submission

    write_submission(path, heatmaps)


def main(argv: list[str] | None = None) -> int:
    """``python -m tavlo_model.infer``: :func:`tavlo_model.cli.infer_main`."""
    from tavlo_model.cli import infer_main

    return infer_main(argv)


if __name__ == "__main__":
    sys.exit(main())

"""The training step, one epoch, validation, and the learning-rate schedule (nanoGPT-style, no framework)."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from tavlo_model.config import TrainConfig
from tavlo_model.heatmap import Calibration, to_heatmaps
from tavlo_model.loss import frame_mil_loss


def lr_at(step: int, cfg: TrainConfig, total_steps: int) -> float:
    """Learning rate of optimizer step ``step`` (0-based): linear warmup, then constant or cosine to ``min_lr``."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return cfg.lr
    progress = min(1.0, max(0.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps)))
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))


def amp_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    """Autocast dtype: ``auto`` is bf16 on GPUs that support it, fp16 on older GPUs, and off on the CPU."""
    if cfg.amp == "off" or (cfg.amp == "auto" and device.type != "cuda"):
        return None
    if cfg.amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[cfg.amp]


@dataclass
class TrainState:
    """Progress that a checkpoint stores and a resumed run continues from."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch
    micro_in_epoch: int = 0  # micro-batches of the current epoch already consumed
    best_score: float = -math.inf
    calibration: Calibration = field(default_factory=Calibration)


@dataclass
class Context:
    """What a training step needs: the (possibly DDP-wrapped) model, optimizer, AMP scaler and settings."""

    cfg: TrainConfig
    model: torch.nn.Module  # DDP wrapper or the model itself
    raw: torch.nn.Module  # the unwrapped model
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    device: torch.device
    dtype: torch.dtype | None
    total_steps: int
    on_step: Callable[[TrainState, dict], bool] = lambda state, stats: False  # True = stop now


def _autocast(ctx: Context):
    if ctx.dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(ctx.device.type, dtype=ctx.dtype)


def pair_similarities(model: torch.nn.Module, batch: dict, num_negatives: int, device: torch.device) -> torch.Tensor:
    """Similarity maps of every positive and shifted negative pair: ``(K+1, B, T, H*W)``."""
    frames = batch["frames"].to(device, non_blocking=True)
    spec = batch["spec"].to(device, non_blocking=True)
    return model(frames, spec, negatives=num_negatives)  # through DDP's forward, so gradients are synchronised


def train_one_epoch(ctx: Context, loader, state: TrainState) -> dict:
    """Train over ``loader`` from ``state.micro_in_epoch``; return mean loss, samples/s and data-wait share."""
    cfg, model = ctx.cfg, ctx.model
    model.train()
    losses, samples, wait, t0 = [], 0, 0.0, time.perf_counter()
    t_fetch = time.perf_counter()
    for batch in loader:
        wait += time.perf_counter() - t_fetch
        state.micro_in_epoch += 1
        boundary = state.micro_in_epoch % cfg.accum_steps == 0
        sync = contextlib.nullcontext() if boundary or not hasattr(model, "no_sync") else model.no_sync()
        with sync:
            with _autocast(ctx):
                sims = pair_similarities(model, batch, cfg.num_negatives, ctx.device)
                loss = frame_mil_loss(sims, ctx.raw.cfg.tau, ctx.raw.cfg.negatives)
            ctx.scaler.scale(loss / cfg.accum_steps).backward()
        losses.append(loss.item())
        samples += batch["frames"].shape[0]
        if boundary and _optimizer_step(ctx, state, losses, samples, wait, t0):
            break
        t_fetch = time.perf_counter()
    elapsed = time.perf_counter() - t0
    return {"loss": float(np.mean(losses)) if losses else float("nan"), "samples_per_s": samples / max(elapsed, 1e-9),
            "data_wait_share": wait / max(elapsed, 1e-9)}


def _optimizer_step(ctx: Context, state: TrainState, losses: list, samples: int, wait: float, t0: float) -> bool:
    """Clip, step, zero grads, advance ``state.step``; return True when the run should stop."""
    lr = lr_at(state.step, ctx.cfg, ctx.total_steps)
    for group in ctx.optimizer.param_groups:
        group["lr"] = lr
    if ctx.cfg.grad_clip > 0:
        ctx.scaler.unscale_(ctx.optimizer)
        torch.nn.utils.clip_grad_norm_(ctx.raw.parameters(), ctx.cfg.grad_clip)
    ctx.scaler.step(ctx.optimizer)
    ctx.scaler.update()
    ctx.optimizer.zero_grad(set_to_none=True)
    state.step += 1
    elapsed = time.perf_counter() - t0
    stats = {"loss": float(np.mean(losses[-ctx.cfg.accum_steps:])), "lr": lr,
             "samples_per_s": samples / max(elapsed, 1e-9), "data_wait_share": wait / max(elapsed, 1e-9)}
    return bool(ctx.on_step(state, stats))


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader, device: torch.device, num_negatives: int = -1,
             gt=None, dtype: torch.dtype | None = None,
             calibration: Calibration | None = None) -> tuple[dict, Calibration, dict[int, np.ndarray]]:
    """Validation: loss, label-free calibration of the heatmap centre, heatmaps of each annotated frame and, when
    ``gt`` is given, the per-scenario metrics of ``avatar_bench.evaluate``.
    A given ``calibration`` is used as it is instead of being fitted on these clips.

    Returns:
        (metrics dict, calibration, heatmaps keyed by image id).
    """
    model.eval()
    cfg = model.cfg
    anchor = cfg.num_frames // 2
    losses, sims_by_id, pos, neg = [], {}, [], []
    for batch in loader:
        ctx = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
        with ctx:
            sims = pair_similarities(model, batch, num_negatives, device).float()  # (K+1, B, T, H*W)
        if sims.shape[1] > 1:
            losses.append(frame_mil_loss(sims, cfg.tau, cfg.negatives).item())
            neg.append(sims[1, :, anchor].amax(-1).cpu())  # audio i with the frames of clip i+1 (another video)
        pos.append(sims[0, :, anchor].amax(-1).cpu())
        maps = sims[0, :, anchor].reshape(-1, model.grid, model.grid).cpu()
        sims_by_id.update(zip(batch["image_id"].tolist(), maps, strict=True))
    pos_t = torch.cat(pos) if pos else torch.zeros(1)
    cal = calibration or Calibration.fit(pos_t, torch.cat(neg) if neg else pos_t, cfg.tau)
    heatmaps = {i: h.numpy() for i, h in zip(sims_by_id, to_heatmaps(torch.stack(list(sims_by_id.values())), cal,
                                                                      cfg.img_size), strict=True)} if sims_by_id else {}
    metrics = {"loss": float(np.mean(losses)) if losses else float("nan"), **cal.to_dict()}
    if gt is not None:
        metrics.update(score(gt, heatmaps))
    return metrics, cal, heatmaps


def score(gt, heatmaps: dict[int, np.ndarray]) -> dict[str, float]:
    """``avatar_bench.evaluate`` summary of ``heatmaps`` against ``gt``."""
    from avatar_bench.evaluate import evaluate as avatar_evaluate

    return {k: float(v) for k, v in avatar_evaluate(gt, heatmaps).summary.items()}

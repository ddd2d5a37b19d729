"""The targeted synchrony experiment: two identical sprites, one pulsing with clicks; can a model tell which?

Each clip is generated as tensors (no video files): ``T`` frames of a grey field with two sprites of the same
colour and size at random places, and ``clip_seconds`` of audio. Both sprites pulse (brighter) on their own
random on/off pattern over the T frames; the *sounding* one's pattern is also the audio's: a click train in the
segment of every frame where it is lit, silence (faint noise) elsewhere. Within a clip nothing but timing tells
the two apart, and across clips nothing but timing tells a clip's audio from another's (colours and places are
independent of the audio), so a contrastive model learns anything at all only through synchrony.

``identity`` is the share of clips whose heatmap at the anchor frame (``T // 2``, as in evaluation) is higher
on the sounding sprite than on its twin; chance is 0.5. The *temporal oracle* correlates each sprite's in-mask
brightness over the T frames with the per-segment audio RMS (what the model's view holds); the *best single-frame
rule* sees the anchor frame and its segment's RMS only. ``train_synchrony`` trains a model from scratch on fresh
clips and reports identity, oracle, single-frame rule, the loss and the gradient norm of every block.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from tavlo_model.audio import log_mel
from tavlo_model.config import ModelConfig
from tavlo_model.loss import frame_mil_loss

GREY, LIT, REST = 0.45, 1.0, 0.6  # background and sprite brightness (of the sprite's colour)


@dataclass
class SyncBatch:
    """Clips of the experiment: model inputs, the two sprites' masks on the model's grid, and the patterns."""

    frames: torch.Tensor  # (B, T, 3, S, S), ImageNet-normalised like tavlo_model.data
    spec: torch.Tensor  # (B, 1, n_mels, W) log-mel
    masks: torch.Tensor  # (B, 2, S, S) bool: [sounding, twin]
    lit: np.ndarray  # (B, 2, T) bool: when each sprite is lit
    rms: np.ndarray  # (B, T) audio RMS of each frame's segment


def make_batch(n: int, cfg: ModelConfig, rng: np.random.Generator, sprite_frac: float = 0.25, categories: int = 0,
               same_video: int = 1) -> SyncBatch:
    """``n`` clips for a model with ``cfg``'s input settings (img_size, num_frames, clip_seconds, audio).

    Args:
        categories: 0 = colours and clicks independent of each other (only timing links audio and frames);
            C > 0 = each clip has one of C categories that fixes the sprites' colour and the clicks' pitch, so
            clips of other categories can be told apart without timing (a shortcut, as on AVATAR-Synth).
        same_video: R > 1 = consecutive groups of R clips share category, colour and places and differ only in
            their patterns (R windows of one video: negatives that only timing separates).
    """
    from tavlo_model.data import MEAN, STD

    s, t = cfg.img_size, cfg.num_frames
    side = max(4, int(round(sprite_frac * s)))
    sr, hop = cfg.sample_rate, int(round(cfg.sample_rate * cfg.hop_ms / 1000))
    seg = int(round(cfg.clip_seconds * sr / t))
    frames = np.zeros((n, t, s, s, 3), np.float32)
    masks = np.zeros((n, 2, s, s), bool)
    lit = _patterns(rng, (n, 2), t)
    specs, rms = [], np.zeros((n, t))
    palette = np.random.default_rng(12345).uniform(0.2, 1.0, size=(max(categories, 1), 3))
    for i in range(n):
        if i % same_video == 0:
            cat = int(rng.integers(categories)) if categories else -1
            colour = palette[cat] if categories else rng.uniform(0.2, 1.0, size=3)
            places = _two_places(rng, s, side)
        frames[i] = GREY
        for k, (y, x) in enumerate(places):
            masks[i, k, y : y + side, x : x + side] = True
            for f in range(t):
                frames[i, f, y : y + side, x : x + side] = colour * (LIT if lit[i, k, f] else REST)
        wave = 0.003 * rng.standard_normal(seg * t)
        burst = np.arange(sr // 50)  # 20 ms: noise clicks, or tone pips at the category's pitch
        for f in np.flatnonzero(lit[i, 0]):
            for c in range(3):  # three bursts in the segment
                at = f * seg + int((c + 0.5) * seg / 3)
                carrier = (np.sin(2 * np.pi * 200 * 2 ** (cat / 2) * burst / sr) if categories
                           else rng.standard_normal(len(burst)))
                wave[at : at + len(burst)] += 0.5 * carrier * np.exp(-burst / 60)
        rms[i] = np.sqrt((wave.reshape(t, seg) ** 2).mean(1))
        specs.append(log_mel(wave, sr, cfg.n_fft, hop, cfg.n_mels)[:, : cfg.spec_frames])
    x = torch.from_numpy(frames).permute(0, 1, 4, 2, 3)
    x = (x - MEAN[None]) / STD[None]
    return SyncBatch(x, torch.from_numpy(np.stack(specs))[:, None], torch.from_numpy(masks), lit, rms)


def _patterns(rng: np.random.Generator, shape: tuple[int, ...], t: int) -> np.ndarray:
    """Random on/off patterns over ``t`` frames, never all on or all off (a constant pattern has no timing)."""
    out = rng.random((*shape, t)) < 0.5
    while True:
        const = out.all(-1) | ~out.any(-1)
        if not const.any():
            return out
        out[const] = rng.random((int(const.sum()), t)) < 0.5


def _two_places(rng: np.random.Generator, s: int, side: int) -> list[tuple[int, int]]:
    """Top-left corners of two non-overlapping squares of ``side`` px in an ``s`` px frame."""
    while True:
        a, b = rng.integers(0, s - side + 1, size=(2, 2))
        if max(abs(a - b)) >= side + 2:
            return [tuple(a), tuple(b)]


def oracle(batch: SyncBatch) -> tuple[float, float]:
    """(temporal oracle, best single-frame rule): share of clips where the sounding sprite is picked.

    Temporal: the sprite whose brightness over the T frames correlates best with the segment RMS (ties and
    constant patterns count half). Single frame: at the anchor frame, the lit sprite when its segment is loud and
    the unlit one when it is quiet (half when both or neither are lit).
    """
    rms = batch.rms - batch.rms.mean(1, keepdims=True)
    temporal, single = [], []
    anchor = batch.lit.shape[2] // 2
    loud = batch.rms[:, anchor] > np.median(batch.rms)
    for i in range(len(rms)):
        c = [_corr(batch.lit[i, k].astype(float), rms[i]) for k in range(2)]
        temporal.append(1.0 if c[0] > c[1] else 0.5 if c[0] == c[1] else 0.0)
        on = batch.lit[i, :, anchor]
        single.append(0.5 if on[0] == on[1] else float(on[0] == loud[i]))
    return float(np.mean(temporal)), float(np.mean(single))


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else -1.0


@torch.no_grad()
def identity(model: torch.nn.Module, batch: SyncBatch) -> float:
    """Share of clips whose anchor-frame heatmap (mean inside each mask) is higher on the sounding sprite."""
    model.eval()
    sims = model(batch.frames, batch.spec)[:, model.cfg.num_frames // 2]  # (B, g, g)
    up = torch.nn.functional.interpolate(sims[:, None], size=batch.masks.shape[-2:], mode="nearest")[:, 0]
    inside = [(up * batch.masks[:, k]).sum((1, 2)) / batch.masks[:, k].sum((1, 2)) for k in range(2)]
    return float(((inside[0] > inside[1]).float() + 0.5 * (inside[0] == inside[1]).float()).mean())


def block_grad_norms(model: torch.nn.Module) -> dict[str, float]:
    """Gradient L2 norm of each part: visual trunk, audio encoder, each block's spatial/temporal/MLP, heads."""
    groups: dict[str, float] = {}
    for name, p in model.named_parameters():
        if p.grad is None:
            continue
        parts = name.split(".")
        key = ".".join(parts[:3]) if parts[0] == "blocks" else parts[0]
        groups[key] = groups.get(key, 0.0) + float(p.grad.detach().float().pow(2).sum())
    return {k: v ** 0.5 for k, v in groups.items()}


def train_synchrony(cfg: ModelConfig, steps: int = 300, batch: int = 16, lr: float = 1e-3, seed: int = 0,
                    num_negatives: int = -1, test_clips: int = 256, bag: str = "frame", categories: int = 0,
                    same_video: int = 1, curve_every: int = 0, stop_at: float = 0.0) -> dict:
    """Train ``Tavlo(cfg)`` from scratch on fresh clips; return identity before/after, oracle, loss, grad norms.

    ``bag="clip"`` pools a positive pair over all T*H*W locations of the clip (one bag per clip, which hides the
    frame that matched) instead of per frame. ``categories`` and ``same_video`` go to :func:`make_batch`;
    ``curve_every`` > 0 records the test identity every that many steps (``"curve"``: ``[(step, identity)]``);
    with ``stop_at`` > 0 training ends at the first of those checks whose identity reaches it (``"steps"`` is
    then the number of steps trained). The step where identity takes off varies with the CPU's kernels (same
    seed: 0.79 at step 200 on one machine, 0.94 on another; some seeds stay at chance for 400 steps), so a test
    gives a budget rather than a step.
    """
    from tavlo_model.model import Tavlo

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Tavlo(cfg)
    test = make_batch(test_clips, cfg, np.random.default_rng(seed + 10_000), categories=categories)
    start = identity(model, test)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses, grads, curve, t0 = [], [], [], time.perf_counter()
    for step in range(steps):
        if curve_every and step % curve_every == 0 and step:
            curve.append((step, identity(model, test)))
            if stop_at and curve[-1][1] >= stop_at:
                break
        model.train()
        b = make_batch(batch, cfg, rng, categories=categories, same_video=same_video)
        sims = model(b.frames, b.spec, negatives=num_negatives)
        if bag == "clip":  # (K+1, B, T, L) -> one bag of T*L locations per clip
            sims = sims.flatten(2)[:, :, None]
        loss = frame_mil_loss(sims, cfg.tau, cfg.negatives)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if step % 25 == 0 or step == steps - 1:
            grads.append(block_grad_norms(model))
        opt.step()
        losses.append(float(loss.detach()))
    temporal, single = oracle(test)
    return {"identity": identity(model, test), "identity_at_start": start, "oracle": temporal,
            "single_frame_rule": single, "chance": 0.5, "loss_first": float(np.mean(losses[:10])),
            "loss_last": float(np.mean(losses[-10:])), "steps": len(losses), "seconds": time.perf_counter() - t0,
            "grad_norms": {k: float(np.mean([g.get(k, 0.0) for g in grads])) for k in grads[-1]}, "curve": curve}

"""A slow, obvious per-frame reference implementation of the AVATAR metrics (DESIGN §4), for the tests.

Pixel loops and Python sorting only; it shares nothing with avatar_bench's scorer except the resize, which
is a defined operation (``resize_bilinear``) tested on its own against the bilinear formula.
"""

from __future__ import annotations

import math

import numpy as np

from avatar_bench import rle
from avatar_bench.metrics.functional import resize_bilinear


def ref_pred_mask(resized: np.ndarray, mode: str, tau: float) -> list[list[bool]]:
    h, w = resized.shape
    values = [float(resized[y, x]) for y in range(h) for x in range(w)]
    if mode == "absolute":
        return [[float(resized[y, x]) >= tau for x in range(w)] for y in range(h)]
    thr = sorted(values)[(h * w) // 2]  # LVS: np.sort(pred.flatten())[int(H*W/2)]
    top = max(values)
    return [[float(resized[y, x]) > thr or float(resized[y, x]) == top for x in range(w)] for y in range(h)]


def ref_iou(heat: np.ndarray, gt: np.ndarray, mode: str, tau: float) -> float:
    resized = resize_bilinear(heat, *gt.shape)
    pred = ref_pred_mask(resized, mode, tau)
    inter = union = 0
    for y in range(gt.shape[0]):
        for x in range(gt.shape[1]):
            p, g = pred[y][x], bool(gt[y, x])
            inter += p and g
            union += p or g
    return inter / union


def ref_max(heat: np.ndarray, height: int, width: int) -> float:
    r = resize_bilinear(heat, height, width)
    return max(float(v) for v in r.ravel())


def ref_auroc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return math.nan
    wins = 0.0
    for p in pos:
        for n in neg:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return 100.0 * wins / (len(pos) * len(neg))


def ref_ciou(ious: list[float]) -> float:
    return 100.0 * sum(i >= 0.5 for i in ious) / len(ious) if ious else math.nan


def ref_auc(ious: list[float]) -> float:
    if not ious:
        return math.nan
    ts = [i / 20 for i in range(21)]
    success = [sum(v >= t for v in ious) / len(ious) for t in ts]
    return 100.0 * sum((success[i] + success[i + 1]) / 2 * (ts[i + 1] - ts[i]) for i in range(20))


def ref_summary(gt, heatmaps: dict, mode: str, tau: float) -> dict:
    """Every summary value, frame by frame."""
    per: dict[str, list] = {"single": [], "mixed": [], "multi_entity": [], "total": [], "cross_event": []}
    on_scores, off_scores = [], []
    cross = gt.cross_event_video_ids()
    for im in gt.images:
        heat = heatmaps[im.id]
        if im.scenario == "off_screen":
            off_scores.append(ref_max(heat, im.height, im.width))
            continue
        on_scores.append(ref_max(heat, im.height, im.width))
        mask = rle.union([a.segmentation for a in gt.anns_by_image[im.id] if a.sounding], (im.height, im.width))
        iou = ref_iou(heat, mask, mode, tau)
        per[im.scenario].append(iou)
        per["total"].append(iou)
        if im.video_id in cross:
            per["cross_event"].append(iou)
    out = {}
    for subset, ious in per.items():
        out[f"{subset}_ciou"] = ref_ciou(ious)
        out[f"{subset}_auc"] = ref_auc(ious)
        out[f"n_{subset}"] = len(ious)
    out["off_screen_tn"] = 100.0 * sum(s < tau for s in off_scores) / len(off_scores) if off_scores else math.nan
    out["offscreen_auroc"] = ref_auroc(on_scores, off_scores)
    out["cross_event_delta"] = out["cross_event_ciou"] - out["total_ciou"]
    out["n_off_screen"] = len(off_scores)
    out["n_frames"] = len(gt.images)
    return out

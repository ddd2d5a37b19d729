"""Pure, vectorized metric functions (torchmetrics functional style): per-frame statistics, then aggregates.

Per frame (the hot path of ``avatar-eval``)::

    heat    (h, w)  float in [0, 1], any resolution        the submitted heatmap
    R       (H, W)  float32, Fortran-ordered               resize_bilinear(heat, H, W); H, W = GT image size
    P       (H, W)  bool                                   binarize(R, "relative" | "absolute", tau)
    G       (H, W)  bool                                   union of the sounding instances' masks
    frame_counts(R, G, mode, tau) -> (|P ∩ G|, |P|, |G|, max R)        the sufficient statistics

Over frames (1-D arrays, one value per frame; results in percent, NaN for an empty set)::

    iou_from_counts -> IoU;  ciou (share of IoU >= 0.5);  success_curve / auc (21 IoU thresholds, trapezoid);
    tn_rate / tn_curve (share of off-screen frames whose max < tau);  auroc (per-frame max, on vs off screen).

Resize: bilinear with half-pixel centres and edge clamping (``cv2.INTER_LINEAR``, what LVS uses; torch's
``interpolate(mode="bilinear", align_corners=False, antialias=False)`` up to float rounding), computed in
float32. The map is resized transposed so that R comes out Fortran-ordered like pycocotools' masks, which
keeps every later pass contiguous; this is part of the definition (it can move R by ~1e-7, which matters only
for exact ties), and the reference implementation in the tests uses this same function.
"""

from __future__ import annotations

import math

import numpy as np

from avatar_bench.errors import MissingDependencyError

IOU_THRESHOLDS = np.arange(21) / 20  # 0, 0.05, ..., 1.0 (exact i/20, not LVS's 0.05*i float products)
TAU_GRID = np.arange(21) / 20
CIOU_THRESHOLD = 0.5
MODES = ("relative", "absolute")

_SAMPLE = 8192  # sample size of the bracket used by kth_smallest


def _cv2():
    try:
        import cv2
    except ImportError:  # pragma: no cover - cv2 is installed wherever the tests run
        raise MissingDependencyError("opencv-python-headless", "pipeline") from None  # until it is a core dependency
    return cv2


def resize_bilinear(heat: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2-D map to (height, width) bilinearly; returns a Fortran-ordered float32 (height, width) array."""
    h32 = np.asarray(heat, dtype=np.float32)
    if h32.shape == (height, width):
        return np.asfortranarray(h32)
    cv2 = _cv2()
    # cv2.transpose is a blocked transpose, several times faster than numpy's copy of a transposed view.
    h_t = h32.T if h32.flags.f_contiguous else cv2.transpose(np.ascontiguousarray(h32))
    out_t = cv2.resize(h_t, (height, width), interpolation=cv2.INTER_LINEAR)
    return out_t.reshape(width, height).T  # reshape: cv2 drops a unit axis


def kth_smallest(values: np.ndarray, k: int) -> np.floating:
    """Exactly ``np.sort(values.ravel())[k]``, several times faster than ``np.partition`` on a whole frame.

    A strided sample gives a bracket [lo, hi] around rank k; if the elements below lo plus those inside the
    bracket reach rank k, the answer is a partition of the (small) bracket, else a full partition.
    """
    a = values.ravel(order="K")
    n = a.size
    if not 0 <= k < n:
        raise IndexError(f"expected 0 <= k < {n}, got {k}")
    if n <= 4 * _SAMPLE:
        return np.partition(a, k)[k]
    sample = np.array(a[:: n // _SAMPLE])
    m = sample.size
    p = k / n
    margin = int(3.5 * math.sqrt(m * p * (1 - p))) + 16  # 3.5 sigma of the sample rank of the k-th value
    guess = int(p * m)
    lo_i, hi_i = max(guess - margin, 0), min(guess + margin, m - 1)
    sample.partition((lo_i, hi_i))
    lo, hi = sample[lo_i], sample[hi_i]
    below = a < lo
    j = k - int(np.count_nonzero(below))
    if j >= 0 and lo == hi and j < np.count_nonzero(a == lo):
        return lo  # ties (binary or constant maps): no need to extract the bracket
    if j >= 0:
        in_bracket = a <= hi
        in_bracket ^= below  # lo <= a <= hi (below is a subset of a <= hi)
        inside = np.compress(in_bracket, a)  # a fresh copy (faster than a[mask]): partition it in place
        if j < inside.size:
            inside.partition(j)
            return inside[j]
    return np.partition(a, k)[k]


def relative_threshold(resized: np.ndarray) -> np.floating:
    """LVS's threshold: the value at sorted position floor(H*W/2) of the resized map."""
    return kth_smallest(resized, resized.size // 2)


def _relative_mask(r: np.ndarray, top: float) -> np.ndarray:
    thr = relative_threshold(r)
    # Strictly above the median plus the pixels equal to the max: when the median *is* the max (over half the
    # map ties at the top) that is r >= thr, else the max pixels are already above it.
    return r > thr if thr < top else r >= thr


def _relative(r: np.ndarray, top: float, rule: str) -> np.ndarray:
    if rule == "lvs":
        return _relative_mask(r, top)
    if rule == "ge":
        return r >= relative_threshold(r)
    raise ValueError(f"expected relative rule 'lvs' or 'ge', got {rule!r}")


def binarize(resized: np.ndarray, mode: str = "relative", tau: float = 0.5, relative_rule: str = "lvs") -> np.ndarray:
    """The predicted mask of a resized heatmap (same shape and memory order).

    ``relative`` is LVS's rule (``pred > sorted[floor(H*W/2)]`` plus the max pixels); EZ-VSL and SLAVC use
    ``pred >= sorted[floor(H*W/2)]`` (``relative_rule="ge"``), which also keeps the pixels tied at the median.
    ``absolute``: >= tau.
    """
    if mode == "relative":
        return _relative(resized, resized.max(), relative_rule)
    if mode == "absolute":
        return resized >= tau
    raise ValueError(f"expected binarize mode in {MODES}, got {mode!r}")


def frame_counts(resized: np.ndarray, gt: np.ndarray | None, mode: str = "relative",
                 tau: float = 0.5, relative_rule: str = "lvs") -> tuple[int, int, int, float]:
    """Sufficient statistics of one frame: (|P ∩ G|, |P|, |G|, max R).

    Args:
        resized: (H, W) resized heatmap (Fortran order is fastest, any order is correct).
        gt: (H, W) boolean GT mask, or None for an off-screen frame (only the max is computed).
        mode: "relative" or "absolute".
        tau: threshold of the absolute mode.
        relative_rule: "lvs" (> median plus the max pixels) or "ge" (>= median) for the relative mode.
    """
    r = resized.ravel(order="F")  # a view for Fortran-ordered input, like pycocotools' masks
    top = float(r.max())
    if gt is None:
        return 0, 0, 0, top
    if gt.shape != resized.shape:
        raise ValueError(f"expected a GT mask of shape {resized.shape}, got {gt.shape}")
    g = gt.ravel(order="F")
    if g.dtype != bool:
        g = g != 0
    if mode == "relative":
        pred = _relative(r, top, relative_rule)
    elif mode == "absolute":
        pred = r >= tau
    else:
        raise ValueError(f"expected binarize mode in {MODES}, got {mode!r}")
    inter = int(np.count_nonzero(pred & g))
    return inter, int(np.count_nonzero(pred)), int(np.count_nonzero(g)), top


# ---------------------------------------------------------------------------------------------- aggregates
def iou_from_counts(inter: np.ndarray, pred: np.ndarray, gt: np.ndarray, zero_division: float = math.nan
                    ) -> np.ndarray:
    """Per-frame IoU = |P∩G| / |P∪G|; frames with an empty union get ``zero_division``."""
    inter, pred, gt = (np.asarray(x, dtype=np.float64) for x in (inter, pred, gt))
    union = pred + gt - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), zero_division)


def _percent(x: np.ndarray) -> float:
    return float(100.0 * x.mean()) if x.size else math.nan


def ciou(iou: np.ndarray, threshold: float = CIOU_THRESHOLD) -> float:
    """CIoU in percent: the share of frames whose IoU is >= ``threshold`` (NaN for no frame)."""
    return _percent(np.asarray(iou) >= threshold)


def success_curve(iou: np.ndarray, thresholds: np.ndarray = IOU_THRESHOLDS) -> np.ndarray:
    """Share of frames (0..1) with IoU >= each threshold; shape (len(thresholds),). NaN for no frame."""
    iou = np.asarray(iou, dtype=np.float64)
    if iou.size == 0:
        return np.full(len(thresholds), math.nan)
    return (iou[None, :] >= np.asarray(thresholds)[:, None]).mean(axis=1)


def auc(iou: np.ndarray, thresholds: np.ndarray = IOU_THRESHOLDS) -> float:
    """Area under the success curve over ``thresholds`` (trapezoid), in percent (LVS / EZ-VSL's AUC)."""
    return float(100.0 * np.trapezoid(success_curve(iou, thresholds), thresholds))


def tn_rate(scores: np.ndarray, tau: float) -> float:
    """TN in percent: share of (off-screen) frames whose absolute mask is empty, i.e. max < tau."""
    return _percent(np.asarray(scores) < tau)


def tn_curve(scores: np.ndarray, taus: np.ndarray = TAU_GRID) -> np.ndarray:
    """TN (percent) at each tau; NaN for no frame."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return np.full(len(taus), math.nan)
    return 100.0 * (scores[None, :] < np.asarray(taus)[:, None]).mean(axis=1)


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """AUROC in percent = P(pos > neg) + P(pos == neg) / 2 (Mann-Whitney), NaN when a side is empty."""
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.sort(np.asarray(negative, dtype=np.float64))
    if pos.size == 0 or neg.size == 0:
        return math.nan
    less = np.searchsorted(neg, pos, side="left")
    less_eq = np.searchsorted(neg, pos, side="right")
    wins = less.sum(dtype=np.float64) + 0.5 * (less_eq - less).sum(dtype=np.float64)
    return float(100.0 * wins / (pos.size * neg.size))

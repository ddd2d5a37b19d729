"""Metrics of ``avatar-eval``: pure functions in :mod:`.functional`, registered metric classes in :mod:`.classes`."""

from avatar_bench.metrics.classes import REGISTRY, FrameTable, Metric, compute_summary, register
from avatar_bench.metrics.functional import (
    CIOU_THRESHOLD,
    IOU_THRESHOLDS,
    MODES,
    TAU_GRID,
    auc,
    auroc,
    binarize,
    ciou,
    frame_counts,
    iou_from_counts,
    kth_smallest,
    relative_threshold,
    resize_bilinear,
    success_curve,
    tn_curve,
    tn_rate,
)

__all__ = [
    "CIOU_THRESHOLD", "IOU_THRESHOLDS", "MODES", "REGISTRY", "TAU_GRID", "FrameTable", "Metric", "auc", "auroc",
    "binarize", "ciou", "compute_summary", "frame_counts", "iou_from_counts", "kth_smallest", "register",
    "relative_threshold", "resize_bilinear", "success_curve", "tn_curve", "tn_rate",
]

"""Temporal IoU of two sets of intervals, by the obvious sampled reference (1 ms grid)."""

import numpy as np


def interval_iou(a, b, step=0.001):
    end = max([e for _, e in list(a) + list(b)] + [0.0])
    t = np.arange(0.0, end + step, step) + step / 2
    mask_a = np.zeros(t.size, bool)
    mask_b = np.zeros(t.size, bool)
    for s, e in a:
        mask_a |= (t >= s) & (t < e)
    for s, e in b:
        mask_b |= (t >= s) & (t < e)
    union = (mask_a | mask_b).sum()
    return float((mask_a & mask_b).sum() / union) if union else 1.0

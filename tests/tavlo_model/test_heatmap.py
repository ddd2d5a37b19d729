"""Similarity -> absolute [0, 1] heatmaps: calibration, monotonicity, exact zeros, peaks kept."""

from __future__ import annotations

import math

import pytest
import torch

from tavlo_model.heatmap import FLOOR, Calibration, to_heatmaps


def test_calibration_centre_is_halfway_between_matched_and_mismatched_medians():
    cal = Calibration.fit(torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0.1, 0.3, 0.2, 0.0]), tau=0.05)
    assert cal.pos_median == pytest.approx(0.8) and cal.neg_median == pytest.approx(0.1)
    assert cal.center == pytest.approx(0.45) and cal.tau == 0.05


def test_heatmaps_are_absolute_scores_with_exact_zeros():
    cal = Calibration(center=0.5, tau=0.05)
    sims = torch.full((2, 4, 4), -0.2)
    sims[0, 1, 2] = 0.9  # a confident location on frame 0
    sims[1] += 0.6  # frame 1: nothing above the centre (as off screen)
    heat = to_heatmaps(sims, cal, size=16)
    assert heat.shape == (2, 16, 16) and heat.dtype == torch.float32
    assert 0.9 < float(heat[0].max()) <= 1 / (1 + math.exp(-(0.9 - 0.5) / 0.05))  # bilinear: at most the peak
    assert heat[0].max() > 0.5 > heat[1].max()  # absolute threshold 0.5 separates the two frames
    assert (heat[0] == 0).float().mean() > 0.75  # background written as exact zeros
    peak = heat[0].max()
    kept = heat[0][heat[0] > 0]
    assert kept.min() >= 0.5 * peak and kept.min() >= FLOOR  # only the region around the peak survives
    # monotone in the similarity where nothing is zeroed
    ramp = to_heatmaps(torch.linspace(0.4, 0.6, 16).reshape(1, 4, 4), cal, size=4, peak_share=0.0)
    assert torch.all(ramp.flatten()[1:] >= ramp.flatten()[:-1])

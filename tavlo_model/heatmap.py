"""From similarity maps to absolute [0, 1] heatmaps.

A location's score is ``sigmoid((s - c) / tau)``: ``s`` the cosine similarity of the frame's audio token with
the location, ``tau`` the training temperature (the loss compares exactly ``s / tau``), ``c`` a calibrated centre.
``c`` is set without labels on validation clips, halfway between the median peak similarity of matched
(audio, frames) pairs and that of mismatched pairs from other videos, so 0.5 means "as likely a match as not":
frames whose peak stays below ``c`` (sound off screen) get an empty mask at tau = 0.5, which makes off-screen TN
meaningful. The map is upsampled (bilinear, on similarities) to the model's input size before the sigmoid, and
scores under ``FLOOR`` or under ``PEAK_SHARE`` of the frame's own peak are written as exactly 0: the relative
(median) binarization of ``avatar-eval`` then keeps the region around the peak instead of the top half of the
frame (sounding objects cover ~4% of an AVATAR-Synth frame). Zeroing never moves a frame's peak, so the absolute
threshold (off-screen TN) sees the same maximum. Both models of a comparison get the same mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

FLOOR = 0.01  # absolute: scores below are written as 0
PEAK_SHARE = 0.5  # relative: scores below this share of the frame's peak are written as 0


@dataclass
class Calibration:
    """The centre ``c`` and scale ``tau`` of the similarity -> score map (a checkpoint carries it)."""

    center: float = 0.0
    tau: float = 0.03
    pos_median: float = float("nan")
    neg_median: float = float("nan")

    @classmethod
    def fit(cls, pos_peaks: torch.Tensor, neg_peaks: torch.Tensor, tau: float) -> Calibration:
        """Centre between the medians of matched and mismatched peak similarities."""
        pos, neg = float(pos_peaks.float().median()), float(neg_peaks.float().median())
        return cls(center=(pos + neg) / 2, tau=tau, pos_median=pos, neg_median=neg)

    def to_dict(self) -> dict[str, float]:
        return {"center": self.center, "tau": self.tau, "pos_median": self.pos_median, "neg_median": self.neg_median}


def to_heatmaps(sims: torch.Tensor, cal: Calibration, size: int, peak_share: float = PEAK_SHARE) -> torch.Tensor:
    """``(B, h, w)`` similarities -> ``(B, size, size)`` float32 scores in [0, 1] (see the module docstring)."""
    up = F.interpolate(sims[:, None].float(), size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    heat = torch.sigmoid((up - cal.center) / cal.tau)
    floor = torch.clamp(peak_share * heat.amax(dim=(1, 2), keepdim=True), min=FLOOR)
    return torch.where(heat < floor, torch.zeros_like(heat), heat)

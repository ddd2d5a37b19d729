"""The collapse of mean-pooled negatives, and the label-free guard that reports it.

Max over locations for a matched pair and *mean* over locations for a mismatched one (DESIGN section 6) has a
trivial minimum: every audio embedding alike (``u``), one location per frame equal to ``u`` and the others
opposite. A matched pair then scores ``max = 1`` and a mismatched one ``mean ~ -1``: the loss goes to ~0 while
the audio says nothing about the frames and the heatmap peak sits on that one location, wherever the source is.
Nothing in a from-scratch start keeps training away from it (with max-pooled negatives the spike would match
every pair alike and earn nothing).

Its signature needs no labels: the loss is near 0, yet the *peak* similarity of matched pairs is no higher than
that of mismatched pairs (other videos' audio), which are exactly what the heatmap calibration measures
(``heatmap.Calibration``: ``pos_median``, ``neg_median``). A model that localizes has matched peaks well above
mismatched ones.
"""

from __future__ import annotations

import math

LOSS_SHARE = 0.05  # "loss ~ 0": under this share of the chance loss 2 * ln(K + 1)
PEAK_GAP = 1.0  # matched minus mismatched median peak similarity, in units of tau, below which peaks say nothing


def chance_loss(negatives: int) -> float:
    """The loss of uninformative scores with K negatives per clip: ``ln(K + 1)`` in each of the two directions."""
    return 2.0 * math.log(negatives + 1)


def collapse_check(loss: float, pos_median: float, neg_median: float, tau: float, negatives: int) -> dict:
    """``{"collapsed", "loss_share", "peak_gap"}``: collapsed when the loss is under :data:`LOSS_SHARE` of chance
    while matched peaks are less than :data:`PEAK_GAP` temperatures above mismatched ones.

    Args:
        loss: validation loss (both directions).
        pos_median, neg_median: median peak similarity of matched and of mismatched (audio, frames) pairs.
        tau: the temperature.
        negatives: K, negatives per clip in that loss.
    """
    share = loss / chance_loss(max(negatives, 1))
    gap = (pos_median - neg_median) / tau
    collapsed = bool(math.isfinite(share) and math.isfinite(gap) and share < LOSS_SHARE and gap < PEAK_GAP)
    return {"collapsed": collapsed, "loss_share": share, "peak_gap": gap}

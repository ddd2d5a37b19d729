"""Public test helpers: synthetic ground truth and submissions (:mod:`avatar_bench.testing.dummies`)."""

from avatar_bench.testing.dummies import QUALITIES, make_gt, make_submission

__all__ = ["QUALITIES", "make_gt", "make_submission"]

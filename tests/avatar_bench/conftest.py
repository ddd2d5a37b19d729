"""Fixtures of the avatar_bench tests: small synthetic ground truth and submissions."""

import numpy as np
import pytest

from avatar_bench.testing import make_gt, make_submission


@pytest.fixture(scope="session")
def small_gt():
    """10 frames at 48x27 in 5 videos: every scenario and a cross-event video."""
    return make_gt(10, width=48, height=27, seed=0, frames_per_video=2)


@pytest.fixture
def heatmaps(small_gt):
    """A valid in-memory submission (soft maps at 16x16), keyed by image id."""
    sub = make_submission(small_gt, "blob", size=(16, 16), seed=1)
    return {k: np.array(v) for k, v in sub.items()}

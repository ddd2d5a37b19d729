"""Media shared by the pipeline tests, written once per session with PyAV (pipeline.dummies)."""

from __future__ import annotations

import pytest

from pipeline.dummies import write_clip

# Truth of the generated clips: audible intervals and blurred frames are known exactly.
SCHEDULED = {"active_s": [(0.0, 3.0), (5.0, 8.0)], "blurred": [5, 10, 30, 55, 60, 140, 160, 180, 190]}


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def scheduled_clip(media_dir):
    """640x360, 25 fps, 10 s; a tone in 0-3 s and 5-8 s, digital silence elsewhere; some frames blurred."""
    path = media_dir / "scheduled.mp4"
    truth = write_clip(path, seed=1, **SCHEDULED)
    return path, truth


@pytest.fixture(scope="session")
def good_clip(media_dir):
    """A plain valid clip: sound throughout, nothing blurred."""
    path = media_dir / "good.mp4"
    return path, write_clip(path, seed=2)


@pytest.fixture(scope="session")
def bframes_clip(media_dir):
    """Like real uploads: x264 'veryfast' (B-frames), so skipping non-reference frames skips frames."""
    path = media_dir / "bframes.mp4"
    return path, write_clip(path, seed=5, preset="veryfast", active_s=[(0.5, 9.5)], blurred=[40, 41, 42, 120, 200])

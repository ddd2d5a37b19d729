"""THE model's window: frame placement and audio segments, by hand."""

from __future__ import annotations

import pytest

from avatar_bench.window import model_window, segment_bounds


def test_frames_sit_at_segment_centres_with_the_anchor_at_t_half():
    # 25 fps, T = 4 in 1 s around frame 100 (4.0 s): frames at 3.5, 3.75, 4.0, 4.25 s; audio from 3.375 s
    idx, start = model_window(100, 25.0, 4, 1.0, 250)
    assert idx == [88, 94, 100, 106] and start == pytest.approx(3.375)
    bounds = [x for seg in segment_bounds(start, 4, 1.0) for x in seg]
    assert bounds == pytest.approx([3.375, 3.625, 3.625, 3.875, 3.875, 4.125, 4.125, 4.375])
    idx, start = model_window(100, 25.0, 1, 1.0, 250)  # T = 1: the frame in the middle of its second
    assert idx == [100] and start == pytest.approx(3.5)


def test_frames_are_clamped_to_the_video():
    idx, start = model_window(0, 25.0, 4, 1.0, 250)
    assert idx == [0, 0, 0, 6] and start == pytest.approx(-0.625)  # audio before 0 is padded by the reader
    assert model_window(249, 25.0, 4, 1.0, 250)[0] == [237, 243, 249, 249]

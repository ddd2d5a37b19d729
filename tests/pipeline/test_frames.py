import logging

import cv2
import numpy as np
import pytest

from pipeline.dummies import write_clip
from pipeline.frames import FrameConfig, _Bins, _scan, _select, choose_frames
from pipeline.media import coarse_sharpness, laplacian_var, luma, open_media
from pipeline.probe import probe_video
from pipeline.records import VideoRecord


def test_laplacian_var_equals_the_float_reference():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    assert laplacian_var(img) == pytest.approx(cv2.Laplacian(img, cv2.CV_64F).var(), rel=1e-9)
    assert laplacian_var(np.full((20, 20), 7, np.uint8)) == 0.0


def test_bins_cut_active_time_evenly():
    bins = _Bins([[0.0, 2.0], [6.0, 8.0]], 4)  # 4 s of activity: 1 s per bin
    assert [bins(t) for t in (0.5, 1.5, 3.0, 6.2, 7.9, 8.5)] == [0, 1, None, 2, 3, None]


def test_select_respects_gap_and_spreads_over_bins():
    # (score, index, t, frame, bin): the two sharpest frames are 0.2 s apart in bin 0.
    cands = [(100, 10, 0.4, None, 0), (99, 15, 0.6, None, 0), (50, 60, 2.4, None, 1), (40, 110, 4.4, None, 2),
             (5, 130, 5.2, None, 2)]
    cfg = FrameConfig(n_frames=3, min_gap_s=1.0, min_relative_sharpness=0.0)
    assert [c[1] for c in _select(cands, [100, 99, 50, 40, 5], cfg)] == [10, 60, 110]
    strict = FrameConfig(n_frames=3, min_gap_s=1.0, min_relative_sharpness=0.5)  # median 50: floor 25
    assert [c[1] for c in _select(cands, [100, 99, 50, 40, 5], strict)] == [10, 60, 110]
    assert all(c[1] != 130 for c in _select(cands, [100, 99, 50, 40, 5], FrameConfig(n_frames=5)))


def test_strided_scan_finds_each_bins_sharpest_frame(shared_media):
    # Exhaustive reference: the full-resolution score of every frame; the strided scan with refinement must
    # pick, in every fine bin, a frame at least 90 % as sharp as the bin's sharpest (most often that one).
    path = shared_media("stage_offscreen_applause.mp4")
    segments = [[0.0, 9.9]]
    with open_media(path) as c:
        ref = [(laplacian_var(luma(f)), f.time) for f in c.decode(video=0) if f.time <= 9.9]
    bins = _Bins(segments, 15)
    with open_media(path) as c:
        cands, scores = _scan(c, c.streams.video[0], bins, FrameConfig(), skip_nonref=False)
    assert len(scores) < 0.65 * len(ref)  # a stride of 2 plus refinement scores far fewer frames
    exact = 0
    for score, _, t, _, _ in cands:
        best = max(s for s, tt in ref if bins(tt) == bins(t))
        assert score >= 0.9 * best
        exact += score == best
    assert exact >= 0.8 * len(cands)


def test_blurred_frames_score_far_below_sharp_ones(scheduled_clip):
    path, truth = scheduled_clip
    blurred, sharp = [], []
    with open_media(path) as c:
        for i, frame in enumerate(c.decode(video=0)):
            (blurred if i in truth["blurred_frames"] else sharp).append(coarse_sharpness(frame, 1))
    assert max(blurred) < 0.2 * min(sharp)


def test_chosen_frames_are_sharp_active_spread_and_written(scheduled_clip, tmp_path):
    path, truth = scheduled_clip
    probe = probe_video(path)
    video = VideoRecord(video_id="sched", path=str(path), label="tone", split="test")
    segments = truth["active_segments_s"]
    frames, selection = choose_frames(video, probe, segments, tmp_path)
    assert selection.n_frames == len(frames) == 5 and selection.frame_ids == [f.frame_id for f in frames]
    idx = [f.frame_index for f in frames]
    assert not set(idx) & set(truth["blurred_frames"])
    times = [f.timestamp_s for f in frames]
    assert all(any(s <= t <= e for s, e in segments) for t in times)
    assert min(np.diff(times)) >= 1.0 and times[0] < 3.0 and times[-1] > 5.0  # both segments used
    for f in frames:
        assert f.timestamp_s == pytest.approx(f.frame_index / 25, abs=1e-3)
        img = cv2.imread(f.image_path)
        assert img.shape == (360, 640, 3) and f.image_path.endswith(f"sched/{f.frame_index:06d}.jpg")
        assert f.sharpness > 50 and f.label == "tone" and f.frame_id == f"sched/{f.frame_index:06d}"


def test_only_frames_inside_the_segments_are_scored(scheduled_clip, tmp_path):
    path, _ = scheduled_clip
    frames, selection = choose_frames(VideoRecord(video_id="s", path=str(path)), probe_video(path), [[1.0, 2.0]],
                                      tmp_path, FrameConfig(n_frames=2, min_gap_s=0.5, stride=1))
    assert selection.n_scored == 26  # frames 25..50
    assert all(1.0 <= f.timestamp_s <= 2.0 for f in frames) and len(frames) == 2


def test_real_clip_frames(shared_media, tmp_path):
    path = shared_media("silent_film_offscreen_piano.mp4")
    frames, _ = choose_frames(VideoRecord(video_id="film", path=str(path)), probe_video(path), [[0.0, 9.6]], tmp_path)
    assert len(frames) == 5 and min(np.diff([f.timestamp_s for f in frames])) >= 1.0


def _decode_all(path):
    with open_media(path) as c:
        return [(f.time, f.to_ndarray(format="gray"), int(f.pict_type)) for f in c.decode(video=0)]


def test_skipping_non_reference_frames_keeps_true_indices(bframes_clip, tmp_path):
    path, truth = bframes_clip
    every = _decode_all(path)
    n_b = sum(1 for *_, kind in every if kind == 3)  # AV_PICTURE_TYPE_B
    assert n_b > 50  # the clip has B-frames for the decoder to skip
    probe = probe_video(path)
    frames, selection = choose_frames(VideoRecord(video_id="b", path=str(path)), probe, [[0.5, 9.5]], tmp_path)
    in_segment = sum(1 for t, *_ in every if 0.5 <= t <= 9.5)
    assert selection.n_scored < in_segment - 30  # frames were skipped, not decoded and scored
    for f in frames:
        t, grey, _ = every[f.frame_index]  # the frame at that index when every frame is decoded
        assert f.timestamp_s == pytest.approx(t, abs=1e-3)
        assert f.sharpness == pytest.approx(laplacian_var(grey), abs=1e-3)  # the same picture
        assert f.frame_index not in truth["blurred_frames"]


def test_off_grid_timestamps_fall_back_to_decoding_every_frame(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="pipeline.frames")
    path = tmp_path / "vfr.mp4"
    write_clip(path, vfr=True, duration_s=4.0, preset="veryfast", seed=6)
    import pipeline.frames as frames_mod

    monkeypatch.setattr(frames_mod, "constant_rate", lambda stream: True)  # as if the header claimed one rate
    frames, _ = choose_frames(VideoRecord(video_id="v", path=str(path)), probe_video(path), [[0.0, 4.0]], tmp_path,
                              FrameConfig(n_frames=3))
    assert "irregular timestamps" in caplog.text
    every = _decode_all(path)
    for f in frames:
        assert f.timestamp_s == pytest.approx(every[f.frame_index][0], abs=1e-3)

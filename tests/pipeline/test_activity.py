import numpy as np
import pytest

from pipeline.activity import ActivityConfig, active_segments, detect_activity, rms_db
from pipeline.errors import Rejected
from pipeline.media import decode_audio_mono
from pipeline.probe import probe_video
from tests.pipeline.intervals import interval_iou

CFG = ActivityConfig()
HOP = CFG.hop / CFG.sample_rate  # 10 ms


def _curve(spec):
    """A level curve from [(seconds, dB), ...] pieces."""
    return np.concatenate([np.full(int(round(s / HOP)), db, float) for s, db in spec])


def test_interval_iou_reference():
    assert interval_iou([[0, 2]], [[1, 3]]) == pytest.approx(1 / 3, abs=1e-3)
    assert interval_iou([[0, 1], [2, 3]], [[0, 3]]) == pytest.approx(2 / 3, abs=1e-3)


def test_segments_of_a_hand_made_curve():
    # 1 s silence, 2 s loud, 0.3 s dip (bridged), 1 s loud, 2 s silence, 0.1 s click (too short), 1 s silence
    level = _curve([(1, -120), (2, -20), (0.3, -90), (1, -20), (2, -120), (0.1, -20), (1, -120)])
    segments, ref, thr = active_segments(level, CFG)
    assert ref == pytest.approx(-20) and thr == pytest.approx(-50)  # relative threshold above the floor
    assert len(segments) == 1 and segments[0] == pytest.approx([1.0, 4.3], abs=0.011)


def test_threshold_is_relative_to_the_clip_but_never_below_the_floor():
    quiet = _curve([(1, -120), (2, -40), (1, -75), (1, -40)])  # a quiet clip: -40 dBFS is its loud level
    segments, _, thr = active_segments(quiet, CFG)
    assert thr == pytest.approx(-55.0)  # -40 - 30 = -70 would be below the -55 floor
    assert segments == [pytest.approx([1.0, 5.0], abs=0.011)] or len(segments) == 2
    hiss = _curve([(3, -70), (2, -65)])  # nothing above the floor
    assert active_segments(hiss, CFG)[0] == []


def test_threshold_sits_above_the_background_noise():
    # Events at -20 dBFS over a -50 dBFS background: the noise term puts the threshold at -50 + 0.25 * 30.
    level = _curve([(1, -50), (1, -20), (1.5, -50), (1, -20), (1, -50)])
    segments, _, thr = active_segments(level, CFG)
    assert thr == pytest.approx(-42.5) and segments == [pytest.approx([1.0, 2.0], abs=0.011),
                                                        pytest.approx([3.5, 4.5], abs=0.011)]
    steady = _curve([(2, -30), (1, -38), (2, -30)])  # an 8 dB dip in a steady sound: all of it is active
    assert active_segments(steady, CFG)[0] == [pytest.approx([0.0, 5.0], abs=0.011)]


def test_scheduled_clip_matches_its_truth(scheduled_clip):
    path, truth = scheduled_clip
    rec = detect_activity(path, "scheduled", 1, duration_s=truth["duration_s"])
    assert rec.ok and len(rec.segments) == 2
    assert interval_iou(rec.segments, truth["active_segments_s"]) >= 0.95
    assert rec.active_fraction == pytest.approx(0.6, abs=0.03)


def test_airplane_is_active_only_in_its_first_five_seconds(shared_media):
    path = shared_media("airplane_flyover_then_silence.mp4")
    rec = detect_activity(path, "airplane", probe_video(path).audio_stream)
    assert rec.ok and interval_iou(rec.segments, [[0.0, 5.0]]) >= 0.85
    assert rec.segments[-1][1] <= 5.2


def test_speech_with_long_silence(shared_media):
    path = shared_media("speech_42s_no_visible_source.mp4")
    rec = detect_activity(path, "speech", probe_video(path).audio_stream)
    # MEDIA.md: speech 0-18 s, silence 18-40 s, speech 40-41 s.
    assert all(not (18.5 < s < 39.5 and 18.5 < e < 39.5) for s, e in rec.segments)
    assert interval_iou(rec.segments, [[0, 18], [40, 41]]) >= 0.8


@pytest.mark.parametrize("name", ["green_screen_digital_silence.mp4", "flower_vp8_silent.webm",
                                  "no_duration_vp9_opus.webm"])
def test_silent_real_clips_are_rejected(shared_media, name):
    path = shared_media(name)
    rec = detect_activity(path, name, probe_video(path).audio_stream)
    assert rec.status == "rejected" and rec.reason == "silent_audio" and rec.segments == []


def test_six_channel_audio_is_downmixed(shared_media):
    path = shared_media("bunny_320x240_6ch.mp4")
    stream = probe_video(path).audio_stream
    samples, start = decode_audio_mono(path, stream, 16000)
    assert samples.ndim == 1 and abs(samples.size / 16000 - 5.31) < 0.05 and start == 0.0
    rec = detect_activity(path, "bunny", stream)
    assert rec.ok and rec.segments[-1][1] > 5.0  # the soundtrack swells from ~2.4 s to the end


def test_no_audio_stream_is_a_reason_not_a_crash(shared_media):
    with pytest.raises(Rejected, match="no_audio"):
        detect_activity(shared_media("no_audio_stream.mp4"), "x", -1)


def test_rms_level_of_a_known_sine():
    sr = CFG.sample_rate
    t = np.arange(sr) / sr
    level = rms_db((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), CFG)
    assert np.median(level) == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.3)  # -9.03 dBFS

import pytest

from pipeline.dummies import write_clip
from pipeline.errors import Rejected
from pipeline.probe import ProbeConfig, ProbeFilter, probe_video

# MEDIA.md: what each real clip is, hence the reason the default filter must give.
REAL_REASONS = {
    "bunny_320x240_6ch.mp4": "too_small",  # 320x240
    "no_audio_stream.mp4": "no_audio",
    "speech_42s_no_visible_source.mp4": "too_long",  # 42 s
    "no_duration_vp9_opus.webm": "low_fps",  # 14.99 fps
    "flower_vp8_silent.webm": "too_short",  # 5 s
    "three_women_one_talks.mp4": "too_short",  # 6.2 s
    "nasa_two_streams_offscreen_narration.mp4": "too_small",  # best stream 480x270
    "airplane_flyover_then_silence.mp4": "",
    "silent_film_offscreen_piano.mp4": "",
    "stage_offscreen_applause.mp4": "",
    "smpte_bars_1080p_tone.mp4": "",
}


@pytest.mark.parametrize("name,reason", sorted(REAL_REASONS.items()))
def test_real_clips_get_the_right_reason(shared_media, name, reason):
    record = probe_video(shared_media(name))
    keep, got = ProbeFilter().apply(record)
    assert (keep, got) == (reason == "", reason)
    if reason:
        assert record.status == "rejected" and record.video_id in record.detail


def test_two_stream_file_uses_the_best_streams(shared_media):
    r = probe_video(shared_media("nasa_two_streams_offscreen_narration.mp4"))
    assert (r.width, r.height, r.video_stream) == (480, 270, 3)  # not the 320x180 stream 0
    assert (r.audio_rate, r.audio_stream) == (16000, 4)  # not the 8 kHz stream 1
    assert r.fps == pytest.approx(29.97, abs=0.01)


def test_webm_without_header_duration_is_measured(shared_media):
    r = probe_video(shared_media("no_duration_vp9_opus.webm"))
    assert 4.5 < r.duration_s < 5.5 and r.video_codec == "vp9"
    assert r.fps == pytest.approx(14.985, abs=0.01)


def test_six_channel_audio_and_ntsc_film_rate(tmp_path):
    path = tmp_path / "ntsc 5.1 clip.mp4"
    write_clip(path, fps=24000 / 1001, channels=6, sample_rate=48000, duration_s=9.0, width=480)
    r = probe_video(path)
    assert r.audio_channels == 6 and r.audio_rate == 48000 and r.fps == pytest.approx(23.976, abs=0.01)
    assert ProbeFilter().apply(r) == (True, "")  # 23.976 fps passes the ~24 fps threshold


def test_variable_frame_rate_reports_the_average(tmp_path):
    path = tmp_path / "vfr.mp4"
    write_clip(path, vfr=True, duration_s=9.0)
    r = probe_video(path)
    assert r.fps == pytest.approx(25, abs=0.5) and ProbeFilter().apply(r)[0]


@pytest.mark.parametrize("content,reason", [(b"", "zero_byte"), (b"not a video\n" * 50, "unreadable")])
def test_broken_files_are_rejected_not_raised(tmp_path, content, reason):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(Rejected) as info:
        probe_video(path)
    assert info.value.reason == reason and "bad" in info.value.detail


def test_missing_file(tmp_path):
    with pytest.raises(Rejected, match="missing_file"):
        probe_video(tmp_path / "nope.mp4")


def test_thresholds_are_config_fields(shared_media):
    r = probe_video(shared_media("bunny_320x240_6ch.mp4"))
    relaxed = ProbeFilter(ProbeConfig(min_short_side=240, min_duration_s=5.0))
    assert relaxed.apply(r) == (True, "")
    assert ProbeFilter(ProbeConfig(min_short_side=240)).apply(r) == (False, "too_short")

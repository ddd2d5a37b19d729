"""Playback media of the review tasks: the cut around each frame and the whole clip, with the real ffmpeg."""

import shutil
import subprocess

import pytest

from pipeline.errors import PipelineError
from pipeline.layout import WorkDir
from pipeline.proposals.records import ProposalRecord
from pipeline.records import FrameRecord, ProbeRecord
from pipeline.review.media import ReviewMedia, browser_ready, cut_window, encode, make_clip, task_media
from tests.review.dummies import make_proposals

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg (apt-get install -y ffmpeg)")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 6 s VP9/Opus webm with a 440 Hz tone (not what browsers are sent: the cut must re-encode it)."""
    path = tmp_path_factory.mktemp("media") / "source.webm"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=160x90:rate=25:duration=6", "-f", "lavfi", "-i", "sine=frequency=440:duration=6",
                    "-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus", "-shortest", str(path)],
                   check=True)
    return path


def _streams(path):
    import av

    with av.open(str(path)) as c:
        return ({s.type: s.codec_context.name for s in c.streams}, c.duration / 1e6)


@pytest.mark.parametrize("t, duration, expected", [
    (4.2, 10.0, (2.95, 5.45)),  # centred
    (0.3, 10.0, (0.0, 2.5)),  # moved right at the start
    (9.9, 10.0, (7.5, 10.0)),  # moved left at the end
    (0.7, 1.5, (0.0, 1.5)),  # a clip shorter than the cut: all of it
])
def test_cut_window(t, duration, expected):
    cut = cut_window(t, duration, 2.5)
    assert (cut.start_s, cut.end_s) == pytest.approx(expected)
    assert cut_window(4.2, 10.0).describe() == "frame at 4.20 s of 10.0 s; the cut spans 2.95–5.45 s"


def test_cut_is_h264_aac_faststart_and_made_once(clip, tmp_path):
    out = encode(clip, tmp_path / "cut.mp4", 2.95, 2.5)
    codecs, seconds = _streams(out)
    assert codecs == {"video": "h264", "audio": "aac"} and seconds == pytest.approx(2.5, abs=0.1)
    head = out.read_bytes()
    assert head.index(b"moov") < head.index(b"mdat")  # +faststart: playable before it has fully arrived
    stamp = out.stat().st_mtime_ns
    assert encode(clip, out, 2.95, 2.5) == out and out.stat().st_mtime_ns == stamp  # a rerun reuses it


def test_a_broken_source_leaves_nothing(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 not a video")
    with pytest.raises(PipelineError, match="ffmpeg could not encode .*bad.mp4 into cut.mp4"):
        encode(bad, tmp_path / "cut.mp4", 0.0, 2.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4"]


def _frames(work: WorkDir, rows, paths) -> None:
    """The frames table prepare would have written: each frame's ``video_path`` is where playback is cut from."""
    with work.manifest("frames") as m:
        m.extend(FrameRecord(frame_id=r.frame_id, video_id=r.video_id, video_path=str(p), frame_index=r.frame_index,
                             timestamp_s=r.timestamp_s, image_path=r.image_path, width=r.width, height=r.height,
                             sharpness=1.0) for r, p in zip(rows, paths, strict=True))


def test_task_media_per_frame(clip, tmp_path):
    work = WorkDir(tmp_path)
    rows = make_proposals(tmp_path, 2, n_instances=1)
    rows[1].timestamp_s = 5.9
    _frames(work, rows, [clip, tmp_path / "missing.mp4"])
    media = task_media(work, rows, tmp_path)
    assert set(media) == {rows[0].frame_id}  # the second frame's video is missing: no playback, no failure
    got = media[rows[0].frame_id]
    vid = rows[0].video_id
    assert got["cut"] == f"/data/local-files/?d=review_media/{vid}/000012.mp4"
    assert got["clip"] == f"/data/local-files/?d=review_media/{vid}/clip.mp4"
    assert got["position"] == "frame at 0.48 s of 6.0 s; the cut spans 0.00–2.50 s"
    assert _streams(tmp_path / "review_media" / vid / "clip.mp4")[0] == {"video": "h264", "audio": "aac"}
    assert task_media(work, rows, tmp_path / "manifests") == {}  # outside the document root: none


def test_the_probed_duration_places_the_cut(clip, tmp_path):
    work = WorkDir(tmp_path)
    rows = make_proposals(tmp_path, 1, n_instances=1)
    rows[0].timestamp_s = 3.0
    _frames(work, rows, [clip])
    with work.manifest("probe") as m:  # the probe's duration is used, not read again from the file
        m.append(ProbeRecord(video_id=rows[0].video_id, duration_s=4.0))
    got = task_media(work, rows, tmp_path)[rows[0].frame_id]
    assert got["position"] == "frame at 3.00 s of 4.0 s; the cut spans 1.50–4.00 s"


def test_a_bad_cut_length_is_refused(tmp_path):
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(PipelineError, match="expected a cut length in seconds > 0"):
            ReviewMedia(WorkDir(tmp_path), cut_s=bad)


def test_prepare_uses_known_durations(clip, tmp_path):
    rows = [ProposalRecord(frame_id="v/000100", video_id="v", image_path="", width=160, height=90, frame_index=100,
                           timestamp_s=4.0)]
    made = ReviewMedia(WorkDir(tmp_path), cut_s=2.0).prepare(rows, {"v": clip}, {"v": 5.0})
    assert (made["v/000100"].window.start_s, made["v/000100"].window.end_s) == (3.0, 5.0)


def test_a_clip_browsers_already_play_is_remuxed_not_reencoded(tmp_path):
    src = tmp_path / "src.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=160x90:rate=25:duration=3", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(src)], check=True)
    assert browser_ready(src)
    out = make_clip(src, tmp_path / "clip.mp4")

    def packets(path):
        import av

        with av.open(str(path)) as c:
            return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]

    assert packets(out) == packets(src)  # the same H.264 bitstream: copied, not re-encoded
    head = out.read_bytes()
    assert head.index(b"moov") < head.index(b"mdat")

"""The files of a generated dataset: layout, CSV, decoding (PyAV and ffmpeg), durations, defects, activity."""

from __future__ import annotations

import csv
import shutil
import subprocess

import av
import numpy as np
import pytest
from scipy import ndimage

from avatar_bench.format import AvatarDataset

GOOD = {"width": 640, "height": 360, "fps": 25, "duration_s": 10.0}


def test_layout_and_vggsound_csv(tiny, tiny_metas):
    out, summary = tiny
    assert summary["videos"] == 15 and summary["good_videos"] == 10 and sum(summary["bad_videos"].values()) == 5
    with open(out / "vggsound.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 15
    assert any("," in r[2] for r in rows), "labels with commas must survive as one quoted field"
    annotated = set()
    for split in ("train", "val", "test"):
        annotated |= {v.name for v in AvatarDataset.load(out / "annotations" / f"{split}.json").videos}
    for vid, start, label, split in rows:
        assert len(vid) == 11 and vid.startswith("sy") and vid[2:].isdigit()
        name = f"{vid}_{int(start):06d}"
        meta = tiny_metas[name]
        assert (meta["label"], meta["split"]) == (label, split)
        assert (out / "videos" / f"{name}.mp4").is_file()
        bad = meta["expected_rejection"] is not None
        assert (name in annotated) != bad, name
        jpgs = sorted((out / "frames" / name).glob("*.jpg")) if not bad else []
        assert [p.name for p in jpgs] == [f"{f['frame_index']:06d}.jpg" for f in meta["annotated_frames"]]
        if not bad:
            assert 3 <= len(jpgs) <= 5


def _probe(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        a = c.streams.audio[0] if c.streams.audio else None
        info = {"codec": v.codec_context.name, "width": v.width, "height": v.height, "fps": float(v.average_rate),
                "v_dur": float(v.duration * v.time_base), "frames": sum(1 for _ in c.decode(video=0))}
        if a is not None:
            info.update(a_codec=a.codec_context.name, rate=a.rate, channels=a.channels,
                        a_dur=float(a.duration * a.time_base))
    return info


def test_every_clip_decodes_with_pyav_and_durations_agree(tiny, tiny_metas):
    out, _ = tiny
    for name, meta in tiny_metas.items():
        info = _probe(out / "videos" / f"{name}.mp4")
        assert info["codec"] == "h264"
        assert (info["width"], info["height"], info["fps"]) == (meta["width"], meta["height"], meta["fps"])
        assert info["frames"] == round(meta["duration_s"] * meta["fps"])
        assert info["v_dur"] == pytest.approx(meta["duration_s"], abs=1 / meta["fps"])
        if meta["expected_rejection"] == "no_audio":
            assert "a_codec" not in info
            continue
        assert info["a_codec"] == "aac"
        assert (info["rate"], info["channels"]) == (meta["audio"]["sample_rate"], meta["audio"]["channels"])
        assert info["rate"] in (16000, 44100) and info["channels"] in (1, 2)
        assert info["a_dur"] == pytest.approx(info["v_dur"], abs=1 / meta["fps"])


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary (apt install ffmpeg)")
def test_every_clip_decodes_with_ffmpeg_without_error(tiny):
    out, _ = tiny
    for path in sorted((out / "videos").glob("*.mp4")):
        proc = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and proc.stderr.strip() == "", (path.name, proc.stderr)


def _audio(path):
    with av.open(str(path)) as c:
        chunks = [f.to_ndarray().reshape(len(f.layout.channels), -1).mean(0) for f in c.decode(audio=0)]
        return np.concatenate(chunks), c.streams.audio[0].rate


def test_bad_clips_have_exactly_their_defect(tiny, tiny_metas):
    out, _ = tiny
    seen = set()
    for name, meta in tiny_metas.items():
        defect = meta["expected_rejection"]
        if defect is None:
            continue
        seen.add(defect)
        info = _probe(out / "videos" / f"{name}.mp4")
        good = {"too_small": (info["width"], info["height"]) == (640, 360),
                "too_short": abs(info["v_dur"] - 10.0) < 0.05,
                "low_fps": info["fps"] == 25.0,
                "no_audio": "a_codec" in info}
        for check, ok in good.items():
            assert ok == (check != defect), (name, defect, check, info)
        if defect == "too_small":
            assert (info["width"], info["height"]) == (320, 180)
        if defect == "too_short":
            assert info["v_dur"] == pytest.approx(3.0)
        if defect == "low_fps":
            assert info["fps"] == 10.0
        if "a_codec" in info:
            samples, _ = _audio(out / "videos" / f"{name}.mp4")
            assert (np.abs(samples).max() < 1e-4) == (defect == "silent_audio"), (name, defect)
    assert seen == {"too_small", "too_short", "no_audio", "low_fps", "silent_audio"}


def test_active_segments_are_loud_and_the_rest_is_quiet(tiny, tiny_metas):
    out, _ = tiny
    for name, meta in tiny_metas.items():
        if meta["expected_rejection"] is not None:
            continue
        samples, rate = _audio(out / "videos" / f"{name}.mp4")
        t = np.arange(len(samples)) / rate
        active = np.zeros(len(samples), bool)
        for s, e in meta["active_segments_s"]:
            active |= (t >= s) & (t <= e)
        quiet = ~active & (t < meta["duration_s"])
        assert active.mean() > 0.3 and quiet.sum() > rate * 0.5, name
        rms_active, rms_quiet = np.sqrt(np.mean(samples[active] ** 2)), np.sqrt(np.mean(samples[quiet] ** 2))
        assert rms_active > 10 * rms_quiet > 0, (name, rms_active, rms_quiet)  # > 20 dB apart


def test_blurred_frames_have_a_low_laplacian_variance(tiny, tiny_metas):
    out, _ = tiny
    name, meta = next((n, m) for n, m in tiny_metas.items() if m["expected_rejection"] is None)
    with av.open(str(out / "videos" / f"{name}.mp4")) as c:
        luma = [f.to_ndarray(format="gray").astype(np.float32) for f in c.decode(video=0)]
    sharpness = np.array([ndimage.laplace(y).var() for y in luma])
    blurred = np.zeros(len(luma), bool)
    blurred[meta["blurred_frames"]] = True
    assert blurred.any()
    assert sharpness[blurred].max() < 0.5 * np.median(sharpness[~blurred])

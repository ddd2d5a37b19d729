"""Tiny synthetic media with known truth, shared by tests, benchmarks and examples (like lhotse's dummies).

:func:`write_clip` encodes an H.264/AAC clip with PyAV: a textured, slowly moving picture (sharp), some
frames heavily blurred, and a tone that sounds only inside given intervals (digital silence elsewhere).
It returns the truth: the audible intervals and the blurred frame indices. :func:`write_bad_inputs`
writes one file per kind of broken input the pipeline must survive.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np


def _texture(height: int, width: int, seed: int) -> np.ndarray:
    """A colour texture with detail at several scales, twice the frame width so it can pan."""
    import cv2

    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (height, 2 * width, 3), dtype=np.uint8)
    img = cv2.GaussianBlur(img, (0, 0), 1.2)  # fine detail that an encoder keeps at a sane bitrate
    for _ in range(40):  # a few shapes: edges at larger scales
        x, y = int(rng.integers(0, 2 * width)), int(rng.integers(0, height))
        cv2.circle(img, (x, y), int(rng.integers(8, 60)), tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
    return img


def _frame_times(n: int, fps: float, vfr: bool) -> np.ndarray:
    if not vfr:
        return np.arange(n) / fps
    # Alternate short and long intervals (same mean rate): a variable-frame-rate stream.
    steps = np.where(np.arange(n) % 2 == 0, 0.6, 1.4) / fps
    return np.concatenate([[0.0], np.cumsum(steps[:-1])])


def write_clip(path: str | os.PathLike, *, width: int = 640, height: int = 360, fps: float = 25.0,
               duration_s: float = 10.0, active_s: list[tuple[float, float]] | None = None,
               blurred: list[int] | tuple[int, ...] = (), audio: bool = True, sample_rate: int = 16000,
               channels: int = 1, amplitude: float = 0.3, vfr: bool = False, seed: int = 0,
               options: dict[str, str] | None = None, preset: str = "ultrafast") -> dict[str, Any]:
    """Write a test clip and return its truth.

    Args:
        path: output file (``.mp4``; other suffixes pick their muxer).
        width, height, fps, duration_s: picture format.
        active_s: intervals (seconds) where a 440 Hz + 1250 Hz tone sounds; the whole clip when None.
        blurred: frame indices that are heavily blurred (Gaussian, sigma 6).
        audio: write an audio stream at all.
        sample_rate, channels, amplitude: audio format (``channels=6`` writes 5.1).
        vfr: variable frame rate (alternating short and long frame intervals).
        seed: texture seed.
        options: muxer options, e.g. ``{"movflags": "faststart"}``.
        preset: x264 preset; ``"ultrafast"`` (fast tests) has no CABAC nor B-frames and decodes faster than
            real uploads, ``"medium"`` is closer to them (benchmarks).

    Returns:
        ``{"fps", "duration_s", "width", "height", "n_frames", "active_segments_s", "blurred_frames"}``.
    """
    import av

    active = [(0.0, duration_s)] if active_s is None else [(float(s), float(e)) for s, e in active_s]
    n = max(1, int(round(duration_s * fps)))
    blurred_set = set(int(i) for i in blurred)
    with av.open(str(path), "w", options=options or {}) as out:
        vs = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001),
                            options={"preset": preset, "crf": "23"})
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.codec_context.time_base = _time_base(vfr, fps)  # frame pts are in the encoder's time base
        ast = _add_audio(out, sample_rate, channels) if audio else None
        _write_video(out, vs, _frame_times(n, fps, vfr), _texture(height, width, seed), blurred_set)
        if ast is not None:
            _write_audio(out, ast, _tone(duration_s, sample_rate, active, amplitude), channels)
    return {"fps": fps, "duration_s": duration_s, "width": width, "height": height, "n_frames": n,
            "active_segments_s": [list(a) for a in active], "blurred_frames": sorted(blurred_set)}


def _write_video(out, stream, times: np.ndarray, texture: np.ndarray, blurred: set[int]) -> None:
    import av
    import cv2

    width, tb = stream.width, stream.codec_context.time_base
    for i, t in enumerate(times):
        x = int(i * 2) % width  # slow pan: every frame differs, all sharp
        img = np.ascontiguousarray(texture[:, x: x + width])
        if i in blurred:
            img = cv2.GaussianBlur(img, (0, 0), 6.0)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = int(round(t / tb))
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _time_base(vfr: bool, fps: float) -> Fraction:
    return Fraction(1, 1000) if vfr or not float(fps).is_integer() else Fraction(1, int(fps))


def _add_audio(out, sample_rate: int, channels: int):
    stream = out.add_stream("aac", rate=sample_rate)
    stream.layout = {1: "mono", 2: "stereo", 6: "5.1"}[channels]
    return stream


def _tone(duration_s: float, sample_rate: int, active: list[tuple[float, float]], amplitude: float) -> np.ndarray:
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    wave = amplitude * (0.7 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 1250 * t))
    gate = np.zeros_like(t)
    for s, e in active:
        gate[(t >= s) & (t < e)] = 1.0
    return (wave * gate).astype(np.float32)


def _write_audio(out, stream, mono: np.ndarray, channels: int) -> None:
    import av

    size = 1024
    layout = {1: "mono", 2: "stereo", 6: "5.1"}[channels]
    for start in range(0, mono.size, size):
        chunk = mono[start: start + size]
        data = np.repeat(chunk[None, :], channels, axis=0)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="fltp", layout=layout)
        frame.sample_rate = stream.codec_context.sample_rate
        frame.pts = start
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def write_bad_inputs(folder: str | os.PathLike, good: str | os.PathLike | None = None) -> dict[str, str]:
    """Write one file per kind of broken input; return ``{file stem: expected reason}``.

    ``good`` (a valid clip written by :func:`write_clip`) is the base of the truncated copies; short clips
    are written for the other kinds so the whole set takes about a second.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    (folder / "zero_byte.mp4").write_bytes(b"")
    expected["zero_byte"] = "zero_byte"
    (folder / "not_a_video.mp4").write_text("this is a text file with a video name\n" * 20, encoding="utf-8")
    expected["not_a_video"] = "unreadable"
    if good is not None:
        data = Path(good).read_bytes()
        (folder / "truncated.mp4").write_bytes(data[: len(data) * 6 // 10])  # moov at the end: now missing
        expected["truncated"] = "unreadable"
    full = folder / ".faststart_full.mp4"
    write_clip(full, duration_s=9.0, width=480, options={"movflags": "faststart"})
    data = full.read_bytes()
    full.unlink()
    (folder / "truncated_faststart.mp4").write_bytes(data[: len(data) * 6 // 10])  # header says 9 s; data stops
    expected["truncated_faststart"] = "decode_error"
    write_clip(folder / "one_frame.mp4", duration_s=1 / 25, active_s=[(0, 0.04)])
    expected["one_frame"] = "too_short"
    write_clip(folder / "no_audio.mp4", duration_s=9.0, audio=False, fps=10)
    expected["no_audio"] = "no_audio"
    write_clip(folder / "silent.mp4", duration_s=9.0, active_s=[], width=480)
    expected["silent"] = "silent_audio"
    return expected

"""Write H.264 + AAC ``.mp4`` files with PyAV, byte-for-byte reproducibly.

x264 runs with one thread and fixed options, so the same frames always give the same bytes; audio is
interleaved with the video frame by frame, as a camera would write it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction

import numpy as np

from avatar_bench.io import atomic_path

AAC_FRAME = 1024  # samples per AAC frame


def _rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def write_mp4(path: str | os.PathLike, frames: Iterable[np.ndarray], *, width: int, height: int, fps: float,
              audio: np.ndarray | None, sample_rate: int, x264_preset: str = "ultrafast", crf: int = 23) -> int:
    """Encode yuv420p frames (``(H * 3 / 2, W)`` uint8) and optional float audio ``(channels, n)`` atomically.

    Args:
        path: the ``.mp4`` to write; a temporary file is moved over it when complete.
        frames: the frames in order (a generator is fine; each buffer may be reused after it is yielded).
        width, height, fps: video geometry and rate.
        audio: ``(channels, n_samples)`` float32 in [-1, 1], or None for a file without an audio stream.
        sample_rate: audio sample rate in Hz.
        x264_preset, crf: libx264 settings (fixed per dataset: they change the bytes).

    Returns:
        The number of video frames written.
    """
    import av

    rate = _rate(fps)
    with atomic_path(path) as tmp:
        container = av.open(str(tmp), mode="w", format="mp4")
        try:
            vs = container.add_stream("libx264", rate=rate)
            vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
            vs.codec_context.gop_size = max(1, int(round(2 * float(rate))))
            vs.codec_context.thread_count = 1
            vs.options = {"preset": x264_preset, "crf": str(crf), "threads": "1"}
            aus = None
            if audio is not None:
                layout = "mono" if audio.shape[0] == 1 else "stereo"
                aus = container.add_stream("aac", rate=sample_rate, layout=layout)
                aus.options = {"aac_coder": "fast"}
                aus.codec_context.bit_rate = 64000 * audio.shape[0]
            n = 0
            sent = 0  # audio samples sent so far
            for n, buf in enumerate(frames, start=1):
                vf = av.VideoFrame.from_ndarray(buf, format="yuv420p")
                vf.pts, vf.time_base = n - 1, 1 / rate
                container.mux(vs.encode(vf))
                if aus is not None:
                    sent = _send_audio(container, aus, audio, sent, int(round(n / float(rate) * sample_rate)))
            container.mux(vs.encode(None))
            if aus is not None:
                _send_audio(container, aus, audio, sent, audio.shape[1], final=True)
                container.mux(aus.encode(None))
        finally:
            container.close()
    return n


def _send_audio(container, stream, audio: np.ndarray, sent: int, upto: int, final: bool = False) -> int:
    """Encode whole AAC frames of ``audio`` up to sample ``upto`` (and the remainder when ``final``)."""
    import av

    layout = "mono" if audio.shape[0] == 1 else "stereo"
    upto = min(upto, audio.shape[1])
    while upto - sent >= AAC_FRAME or (final and upto > sent):
        chunk = np.ascontiguousarray(audio[:, sent:min(sent + AAC_FRAME, upto)], dtype=np.float32)
        af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        af.sample_rate, af.pts, af.time_base = stream.rate, sent, Fraction(1, stream.rate)
        container.mux(stream.encode(af))
        sent += chunk.shape[1]
    return sent

"""Audio for the taggers: a video's first audio stream as 16 kHz mono float32, and windows around frame times."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import numpy as np

from pipeline.errors import PipelineError

log = logging.getLogger(__name__)
SAMPLE_RATE = 16000


def load_audio(path: str, sample_rate: int = SAMPLE_RATE) -> np.ndarray | None:
    """Decode the first audio stream of ``path`` to mono float32 in [-1, 1] at ``sample_rate``.

    The decoding is the pipeline's own (:func:`pipeline.media.decode_audio_mono`: any channel layout, PTS gaps
    of broken files ignored), so the taggers hear the samples that the activity stage measured.

    Returns:
        The samples, or ``None`` when the file has no audio stream.

    Raises:
        PipelineError: the file cannot be opened or its audio cannot be decoded.
    """
    from pipeline.errors import Rejected
    from pipeline.media import decode_audio_mono, open_media

    try:
        with open_media(path) as container:
            if not container.streams.audio:
                return None
            index = container.streams.audio[0].index
        samples, _ = decode_audio_mono(path, index, sample_rate)
    except Rejected as exc:
        raise PipelineError(f"video {path}: cannot decode its audio ({exc.detail})") from None
    return samples


@functools.lru_cache(maxsize=4)
def cached_audio(path: str, sample_rate: int = SAMPLE_RATE) -> np.ndarray | None:
    """:func:`load_audio` remembered for the last few videos (frames of one video arrive together)."""
    return load_audio(path, sample_rate)


def window(wave: np.ndarray, center_s: float, duration_s: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``duration_s`` seconds of ``wave`` centred on ``center_s``; parts outside the audio are zeros.

    Audio shorter than the window, a window past the end of the track (a video longer than its audio) and a
    frame at t=0 all give a full-length window, zero-padded where there is no sound.
    """
    length = int(round(duration_s * sample_rate))
    start = int(round(center_s * sample_rate)) - length // 2
    out = np.zeros(length, dtype=np.float32)
    lo, hi = max(start, 0), min(start + length, len(wave))
    if hi > lo:
        out[lo - start:hi - start] = wave[lo:hi]
    return out


def windows(wave: np.ndarray, centers_s: Sequence[float], duration_s: float,
            sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Stack of :func:`window` for each centre: ``(len(centers_s), round(duration_s * sample_rate))``."""
    return np.stack([window(wave, c, duration_s, sample_rate) for c in centers_s]) if len(centers_s) else \
        np.zeros((0, int(round(duration_s * sample_rate))), np.float32)

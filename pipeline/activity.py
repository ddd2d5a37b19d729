"""Audio activity: where in a clip is there sound worth localising?

The audio is decoded with PyAV, resampled to mono 16 kHz, and its RMS energy computed by librosa on
centred frames (``frame_length`` window, ``hop`` step: frame k describes time k*hop). The RMS is smoothed
(moving average, linear amplitude) and turned into dBFS. A frame is active when its level exceeds

    threshold_db = max(floor_db, level_db + relative_db, noise_db + noise_fraction * (level_db - noise_db))

with ``level_db`` a high percentile of the clip's level (its loud part) and ``noise_db`` a low one (its
background). So the threshold is relative to the clip itself (a quiet recording is judged against its own
level), sits above the clip's own background noise (a fraction of the way up from noise to signal; this
term is dropped when the clip's range is under ``min_range_db``: a steady sound is active throughout),
and never goes below an absolute floor (digital silence and faint hiss are never active). Active runs
closer than ``merge_gap_s`` are merged and runs shorter than ``min_segment_s`` dropped. A clip with less
than ``min_active_s`` of activity is rejected as ``silent_audio``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from pipeline.config import StrictConfig, require
from pipeline.errors import Rejected
from pipeline.media import decode_audio_mono
from pipeline.records import ActivityRecord

log = logging.getLogger(__name__)

SILENCE_DB = -120.0  # level reported for digital silence (log of zero)


@dataclass(slots=True, kw_only=True)
class ActivityConfig(StrictConfig):
    """Parameters of the RMS activity detector."""

    sample_rate: int = 16000  # audio is resampled to mono at this rate
    frame_length: int = 512  # RMS window in samples (32 ms at 16 kHz): short, so edges stay sharp
    hop: int = 160  # 10 ms
    smooth_s: float = 0.05  # moving-average width on the RMS envelope (bridges single-frame dips)
    ref_percentile: float = 95.0  # the clip's "loud" level
    noise_percentile: float = 10.0  # the clip's background level
    relative_db: float = -30.0  # active = within this many dB of the loud level ...
    noise_fraction: float = 0.25  # ... and this fraction of the way up from the background to the loud level
    min_range_db: float = 15.0  # below this loud-to-background range the background term is not used
    floor_db: float = -55.0  # ... and above this absolute level (dBFS)
    merge_gap_s: float = 0.7  # gaps up to this long are bridged (speech pauses, ticks, footsteps, beats)
    min_segment_s: float = 0.25  # shorter isolated bursts (a click) are not segments
    min_active_s: float = 0.5  # less activity than this in a clip: rejected as silent_audio

    def validate(self) -> None:
        require(self.sample_rate >= 1000, "activity.sample_rate", "at least 1000 Hz", self.sample_rate)
        require(self.frame_length >= 16, "activity.frame_length", "at least 16 samples", self.frame_length)
        require(1 <= self.hop <= self.frame_length, "activity.hop", f"1..frame_length ({self.frame_length})",
                self.hop)
        for name in ("ref_percentile", "noise_percentile"):
            require(0 <= getattr(self, name) <= 100, f"activity.{name}", "a percentile in [0, 100]",
                    getattr(self, name))
        require(0 <= self.noise_fraction <= 1, "activity.noise_fraction", "a fraction in [0, 1]", self.noise_fraction)
        for name in ("smooth_s", "min_range_db", "merge_gap_s", "min_segment_s", "min_active_s"):
            require(getattr(self, name) >= 0, f"activity.{name}", "0 or more", getattr(self, name))


def rms_db(samples: np.ndarray, config: ActivityConfig) -> np.ndarray:
    """Smoothed RMS level in dBFS, one value per hop (frame k centred at ``k * hop / sample_rate``)."""
    import librosa
    from scipy.ndimage import uniform_filter1d

    if samples.size == 0:
        return np.zeros(0)
    rms = librosa.feature.rms(y=samples, frame_length=config.frame_length, hop_length=config.hop, center=True)[0]
    width = max(1, int(round(config.smooth_s * config.sample_rate / config.hop)))
    if width > 1:
        rms = uniform_filter1d(rms.astype(np.float64), size=width, mode="nearest")
    return 20.0 * np.log10(np.maximum(rms, 10 ** (SILENCE_DB / 20)))


def active_segments(level_db: np.ndarray, config: ActivityConfig, duration_s: float | None = None) -> tuple[
        list[list[float]], float, float]:
    """Active segments of a level curve.

    Args:
        level_db: output of :func:`rms_db`.
        config: thresholds.
        duration_s: clip the segments to ``[0, duration_s]`` (the audio length when None).

    Returns:
        ``(segments, ref_db, threshold_db)`` with segments ``[[start_s, end_s], ...]`` relative to the first
        sample, sorted and disjoint.
    """
    hop_s = config.hop / config.sample_rate
    if level_db.size == 0:
        return [], SILENCE_DB, config.floor_db
    ref_db = float(np.percentile(level_db, config.ref_percentile))
    noise_db = float(np.percentile(level_db, config.noise_percentile))
    threshold_db = max(config.floor_db, ref_db + config.relative_db)
    if ref_db - noise_db >= config.min_range_db:
        threshold_db = max(threshold_db, noise_db + config.noise_fraction * (ref_db - noise_db))
    active = np.concatenate([[False], level_db > threshold_db, [False]])
    edges = np.flatnonzero(np.diff(active.astype(np.int8)))
    # Frame k covers [k - 1/2, k + 1/2) hops around its centre.
    runs = [[max(0.0, (s - 0.5) * hop_s), (e - 0.5) * hop_s] for s, e in zip(edges[::2].tolist(), edges[1::2].tolist(),
                                                                          strict=True)]
    merged: list[list[float]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] <= config.merge_gap_s:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    end = duration_s if duration_s is not None else level_db.size * hop_s
    segments = [[round(s, 3), round(min(e, end), 3)] for s, e in merged if min(e, end) - s >= config.min_segment_s]
    return segments, ref_db, threshold_db


def detect_activity(path: str | os.PathLike, video_id: str, audio_stream: int,
                    config: ActivityConfig | None = None, duration_s: float | None = None) -> ActivityRecord:
    """Decode one video's audio and find its active segments (seconds on the container's clock).

    ``duration_s`` (the video's) clips the segments: sound after the last picture has no frame to show.

    Raises:
        Rejected: ``no_audio`` (the stream holds no samples), ``decode_error``, or ``silent_audio``.
    """
    config = config or ActivityConfig()
    if audio_stream < 0:
        raise Rejected("no_audio", f"video {video_id}: expected an audio stream, found none")
    log.info("decode-audio %s", video_id)  # one line per decoding pass: resume tests count them
    samples, start_s = decode_audio_mono(path, audio_stream, config.sample_rate, video_id)
    if samples.size == 0:
        raise Rejected("no_audio", f"video {video_id}: expected audio samples, the audio stream is empty")
    level = rms_db(samples, config)
    audio_s = samples.size / config.sample_rate
    end = None if duration_s is None else max(0.0, min(audio_s, duration_s - start_s))
    segments, ref_db, threshold_db = active_segments(level, config, end)
    active_s = sum(e - s for s, e in segments)
    record = ActivityRecord(video_id=video_id, segments=[[round(s + start_s, 3), round(e + start_s, 3)]
                                                         for s, e in segments],
                            active_fraction=round(min(1.0, active_s / audio_s), 4), level_db=round(ref_db, 2),
                            threshold_db=round(threshold_db, 2))
    if active_s < config.min_active_s:
        record.reject("silent_audio", f"video {video_id}: expected >= {config.min_active_s} s of sound above "
                                      f"{threshold_db:.1f} dBFS, got {active_s:.2f} s (loud level {ref_db:.1f} dBFS)")
    return record

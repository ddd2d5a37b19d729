"""Probe a video's container (PyAV) and filter it by resolution, frame rate, duration and audio.

The paper keeps about 39k of ~70k VGGSound candidates: clips of about 10 s, at least 360p-ish, at film
frame rate or better, with sound. Every threshold below is a config field. The probe itself rejects what
has no usable facts (reason codes ``missing_file``, ``zero_byte``, ``unreadable``, ``no_video``,
``decode_error``); :class:`ProbeFilter` then drops by threshold (``no_audio``, ``too_small``,
``low_fps``, ``too_short``, ``too_long``), checked in that order so the reason is the most basic defect.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from pipeline.config import StrictConfig, require
from pipeline.errors import Rejected
from pipeline.filters import BaseFilter, FilterResult
from pipeline.media import best_audio_stream, best_video_stream, open_media, stream_fps, stream_seconds
from pipeline.records import ProbeRecord

log = logging.getLogger(__name__)

FILTER_REASONS = ("no_audio", "too_small", "low_fps", "too_short", "too_long")  # ProbeFilter's, by threshold
PROBE_REASONS = ("missing_file", "zero_byte", "unreadable", "no_video", "decode_error", *FILTER_REASONS)


@dataclass(slots=True, kw_only=True)
class ProbeConfig(StrictConfig):
    """Thresholds of the probe filter (defaults follow the paper's intent for 10 s VGGSound clips)."""

    min_short_side: int = 360  # "360p or better": the shorter side of the frame, so portrait 360x640 passes
    min_fps: float = 23.5  # film rate or better; 23.976 (NTSC film) passes, 15 fps screen captures do not
    min_duration_s: float = 8.0  # VGGSound clips are 10 s; a little is lost at cuts and stream ends
    max_duration_s: float | None = 12.0  # None: no upper bound (long local videos)
    require_audio: bool = True  # audio-visual localisation needs sound

    def validate(self) -> None:
        for name in ("min_short_side", "min_fps", "min_duration_s"):
            require(getattr(self, name) >= 0, f"probe.{name}", "0 or more", getattr(self, name))
        require(self.max_duration_s is None or self.max_duration_s >= self.min_duration_s, "probe.max_duration_s",
                f"null or at least probe.min_duration_s ({self.min_duration_s})", self.max_duration_s)


def probe_video(path: str | os.PathLike, video_id: str = "") -> ProbeRecord:
    """Read container facts of the best video/audio streams and check the first video frame decodes.

    Args:
        path: the media file.
        video_id: the record id used in messages and in the returned record.

    Returns:
        A :class:`ProbeRecord` with status ``ok``.

    Raises:
        Rejected: ``missing_file``, ``zero_byte``, ``unreadable``, ``no_video`` or ``decode_error``.
    """
    import av

    video_id = video_id or os.path.splitext(os.path.basename(path))[0]
    with open_media(path, video_id) as container:
        video = best_video_stream(container)
        if video is None:
            raise Rejected("no_video", f"video {video_id}: expected a video stream, found none")
        audio = best_audio_stream(container)
        cc = video.codec_context
        try:
            first = next(container.decode(video), None)
        except av.FFmpegError as exc:
            raise Rejected("decode_error", f"video {video_id}: first video frame failed to decode: {exc}") from exc
        if first is None:
            raise Rejected("decode_error", f"video {video_id}: expected decodable video frames, got none")
        duration = _duration(container, video)
        fps = stream_fps(video)
        return ProbeRecord(
            video_id=video_id, width=int(first.width or cc.width), height=int(first.height or cc.height),
            fps=round(fps, 4), duration_s=round(duration, 4), has_audio=audio is not None,
            audio_rate=int(audio.codec_context.sample_rate) if audio else 0,
            audio_channels=int(audio.codec_context.channels) if audio else 0,
            video_codec=str(cc.name), video_stream=int(video.index), audio_stream=int(audio.index) if audio else -1)


def _duration(container, video) -> float:
    """Duration of the video stream; from the container header, else by scanning packets (e.g. WebM
    files written live have no duration in their header)."""
    for seconds in (stream_seconds(video, video.duration), container.duration and container.duration / 1e6):
        if seconds:
            return float(seconds)
    container.seek(0)
    start, end = None, 0.0
    for packet in container.demux(video):
        if packet.pts is None:
            continue
        t0 = float(packet.pts * packet.time_base)
        start = t0 if start is None else min(start, t0)
        end = max(end, t0 + float((packet.duration or 0) * packet.time_base))
    return max(0.0, end - (start or 0.0))


class ProbeFilter(BaseFilter):
    """Drop probed videos that miss the thresholds of a :class:`ProbeConfig`."""

    name = "probe"

    def __init__(self, config: ProbeConfig | None = None):
        super().__init__()
        self.config = config or ProbeConfig()

    def filter(self, record: ProbeRecord) -> FilterResult:
        c = self.config
        if c.require_audio and not record.has_audio:
            return False, "no_audio"
        if min(record.width, record.height) < c.min_short_side:
            return False, "too_small"
        if record.fps < c.min_fps:
            return False, "low_fps"
        if record.duration_s < c.min_duration_s:
            return False, "too_short"
        if c.max_duration_s is not None and record.duration_s > c.max_duration_s:
            return False, "too_long"
        return True

    def explain(self, record: ProbeRecord, reason: str) -> str:
        c, v = self.config, record.video_id
        return {
            "no_audio": f"video {v}: expected an audio stream, found none",
            "too_small": f"video {v}: expected a short side >= {c.min_short_side} px, got {record.width}x"
                         f"{record.height}",
            "low_fps": f"video {v}: expected >= {c.min_fps} fps, got {record.fps:g}",
            "too_short": f"video {v}: expected >= {c.min_duration_s} s, got {record.duration_s:.2f} s",
            "too_long": f"video {v}: expected <= {c.max_duration_s} s, got {record.duration_s:.2f} s",
        }.get(reason, super().explain(record, reason))

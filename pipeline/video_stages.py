"""The per-video chain probe → filter → activity → frame choice, run in a worker process.

:func:`process_video` starts at the first stage the manifests do not hold yet (a rerun passes the probe
and activity records already written) and stops at the first rejection. It never raises for one bad
video: an unexpected error becomes a rejection with reason ``error`` at the stage it happened in. The probe
filter is the run's (one :class:`~pipeline.probe.ProbeFilter` per process, see :mod:`pipeline.workers`); what
it decided for the video travels back in :attr:`VideoOutcome.filtered` so a parent can add workers' counts up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.activity import ActivityConfig, detect_activity
from pipeline.errors import Rejected
from pipeline.frames import FrameConfig, choose_frames
from pipeline.probe import ProbeConfig, ProbeFilter, probe_video
from pipeline.records import ActivityRecord, FrameRecord, ProbeRecord, SelectionRecord, VideoRecord
from pipeline.stats import StageStats

log = logging.getLogger(__name__)


@dataclass(slots=True)
class VideoOutcome:
    """Records produced for one video by this run (None: the stage was not run)."""

    video_id: str
    probe: ProbeRecord | None = None
    activity: ActivityRecord | None = None
    frames: list[FrameRecord] = field(default_factory=list)
    selection: SelectionRecord | None = None
    filtered: StageStats | None = None  # the probe filter's verdict on this video (None: it did not run)

    @property
    def final_reason(self) -> str:
        """The reason the video was dropped ("" when it reached frame choice and kept frames)."""
        for rec in (self.probe, self.activity, self.selection):
            if rec is not None and not rec.ok:
                return rec.reason
        return ""


def _guard(video_id: str, stage: str, make: Callable[[], Any], empty: Callable[[], Any]) -> Any:
    """Run one stage; a Rejected or unexpected error becomes a rejected record of that stage."""
    try:
        return make()
    except Rejected as exc:
        record = empty()
        record.reject(exc.reason, exc.detail)
    except Exception as exc:  # noqa: BLE001 - one broken video must not stop the batch
        log.exception("video %s: unexpected error in %s", video_id, stage)
        record = empty()
        record.reject("error", f"video {video_id}: {stage} failed: {type(exc).__name__}: {exc}")
    return record


def process_video(video: VideoRecord, probe_config: ProbeConfig, activity_config: ActivityConfig,
                  frame_config: FrameConfig, frames_dir: str, probe: ProbeRecord | None = None,
                  activity: ActivityRecord | None = None, probe_filter: ProbeFilter | None = None) -> VideoOutcome:
    """Run the remaining stages for one video.

    Args:
        video: an ok source record (its ``path`` is a local file).
        probe_config, activity_config, frame_config: stage settings.
        frames_dir: JPEGs go to ``<frames_dir>/<video_id>/``.
        probe: its probe record from an earlier run (the probe is then not run again).
        activity: its activity record from an earlier run.
        probe_filter: the run's filter (default: this process's, made once from ``probe_config``).

    Returns:
        The records this call produced.
    """
    vid = video.video_id
    out = VideoOutcome(vid)
    if probe is None:
        probe = out.probe = _guard(vid, "probe", lambda: probe_video(video.path, vid),
                                   lambda: ProbeRecord(video_id=vid))
        if probe.ok:
            keep, reason = (probe_filter or process_filter(probe_config)).apply(probe)
            out.filtered = StageStats(stage="probe", unit="video", processed=1, kept=int(keep))
            if not keep:
                out.filtered.reject(reason)
    if not probe.ok:
        return out
    if activity is None:
        activity = out.activity = _guard(vid, "activity",
                                         lambda: detect_activity(video.path, vid, probe.audio_stream, activity_config,
                                                                 probe.duration_s),
                                         lambda: ActivityRecord(video_id=vid))
    if not activity.ok:
        return out
    chosen = _guard(vid, "frames", lambda: choose_frames(video, probe, activity.segments, frames_dir, frame_config),
                    lambda: SelectionRecord(video_id=vid))
    if isinstance(chosen, SelectionRecord):
        out.selection = chosen
    else:
        out.frames, out.selection = chosen
    return out


_FILTER: ProbeFilter | None = None  # this process's probe filter (a pool worker's, for all its videos)


def process_filter(config: ProbeConfig) -> ProbeFilter:
    """The process's one probe filter for ``config`` (made on first use; a new config makes a new one)."""
    global _FILTER
    if _FILTER is None or _FILTER.config != config:
        _FILTER = ProbeFilter(config)
    return _FILTER

"""Typed records of the preparation stages (lhotse style): slotted, stable string ids, foreign keys.

One record per row of a stage manifest (``<work>/manifests/<stage>.parquet``)::

    VideoRecord      videos.parquet      key video_id  ("<youtube_id>_<start:06d>" or the file stem)
    ProbeRecord      probe.parquet       key video_id
    ActivityRecord   activity.parquet    key video_id
    SelectionRecord  selection.parquet   key video_id  (one row per video that reached frame choice)
    FrameRecord      frames.parquet      key frame_id  ("<video_id>/<frame_index:06d>")

Every record has ``status`` (``"ok"`` or ``"rejected"``), ``reason`` (a short code, ``""`` when kept) and
``detail`` (a human sentence: what was expected, what arrived). ``to_dict``/``from_dict`` keep Python
values; ``to_row``/``from_row`` are the Parquet form, where nested values (lists, dicts) are JSON strings.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from pipeline.errors import PipelineError
from pipeline.manifest import STATUS_OK, STATUS_REJECTED

R = TypeVar("R", bound="_Record")

# The keys of each stage's manifest (documented in docs/pipeline.md).
VIDEO_KEY = "video_id"
FRAME_KEY = "frame_id"


def make_video_id(youtube_id: str, start_s: float) -> str:
    """The VGGSound clip id: ``"<youtube_id>_<start:06d>"``, e.g. ``"---g-f_I2yQ_000001"``."""
    return f"{youtube_id}_{int(start_s):06d}"


def make_frame_id(video_id: str, frame_index: int) -> str:
    """The frame id: ``"<video_id>/<frame_index:06d>"``."""
    return f"{video_id}/{int(frame_index):06d}"


class _Record:
    """Shared conversions of the slotted records below."""

    __slots__ = ()
    JSON_FIELDS: ClassVar[tuple[str, ...]] = ()  # stored as JSON strings in Parquet

    @classmethod
    def from_dict(cls: type[R], d: dict[str, Any]) -> R:
        """Build from a dict; unknown keys are ignored, missing required fields raise :class:`PipelineError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in d.items() if k in names})
        except TypeError as exc:
            raise PipelineError(f"{cls.__name__}: expected fields {sorted(names)}, got {sorted(d)} ({exc})") from exc

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def to_row(self) -> dict[str, Any]:
        """The manifest row: nested values as JSON strings."""
        row = self.to_dict()
        for name in self.JSON_FIELDS:
            row[name] = json.dumps(row[name])
        return row

    @classmethod
    def from_row(cls: type[R], row: dict[str, Any]) -> R:
        """Inverse of :meth:`to_row` (also accepts NaN for missing optional floats, as pandas gives them)."""
        d = {k: _clean(v) for k, v in row.items()}
        for name in cls.JSON_FIELDS:
            if isinstance(d.get(name), str):
                d[name] = json.loads(d[name])
        return cls.from_dict(d)

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK  # type: ignore[attr-defined]

    def reject(self, reason: str, detail: str = "") -> None:
        """Mark this record dropped with a reason code."""
        self.status = STATUS_REJECTED  # type: ignore[attr-defined]
        self.reason = reason  # type: ignore[attr-defined]
        self.detail = detail  # type: ignore[attr-defined]


def _clean(value: Any) -> Any:
    """pandas turns None into NaN in float columns and numpy scalars appear: give plain Python values."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@dataclass(slots=True, kw_only=True)
class VideoRecord(_Record):
    """A candidate video from a source (a CSV row, a local file, an AVATAR-Synth clip)."""

    video_id: str
    path: str = ""  # absolute path of the local file ("" when the download failed)
    source: str = ""  # vggsound | local | synth
    label: str = ""  # e.g. the VGGSound class
    split: str = ""
    start_s: float | None = None  # start of the 10 s clip inside the original video (VGGSound)
    status: str = STATUS_OK
    reason: str = ""
    detail: str = ""

    def to_row(self) -> dict[str, Any]:
        row = _Record.to_row(self)
        row["start_s"] = math.nan if self.start_s is None else float(self.start_s)  # a float column, always
        return row


@dataclass(slots=True, kw_only=True)
class ProbeRecord(_Record):
    """Container facts of one video (its best video and audio streams)."""

    video_id: str
    width: int = 0
    height: int = 0
    fps: float = 0.0
    duration_s: float = 0.0
    has_audio: bool = False
    audio_rate: int = 0
    audio_channels: int = 0
    video_codec: str = ""
    video_stream: int = -1  # index of the chosen (best) video stream in the container
    audio_stream: int = -1  # index of the chosen audio stream, -1 when there is none
    status: str = STATUS_OK
    reason: str = ""
    detail: str = ""


@dataclass(slots=True, kw_only=True)
class ActivityRecord(_Record):
    """Audio-active segments of one video, in seconds on the container's clock."""

    video_id: str
    segments: list[list[float]] = field(default_factory=list)  # [[start_s, end_s], ...], sorted, disjoint
    active_fraction: float = 0.0  # active time / audio duration
    level_db: float = -120.0  # the clip's reference level (dBFS), from which the threshold is derived
    threshold_db: float = -120.0  # the threshold actually used (dBFS)
    status: str = STATUS_OK
    reason: str = ""
    detail: str = ""
    JSON_FIELDS: ClassVar[tuple[str, ...]] = ("segments",)


@dataclass(slots=True, kw_only=True)
class FrameRecord(_Record):
    """One chosen frame, written as a JPEG."""

    frame_id: str
    video_id: str
    video_path: str
    frame_index: int  # 0-based index of the decoded frame in the chosen video stream
    timestamp_s: float  # presentation time of the frame
    image_path: str  # absolute path of the JPEG
    width: int
    height: int
    sharpness: float  # variance of the Laplacian of the full-resolution grey frame
    label: str = ""
    split: str = ""
    status: str = STATUS_OK
    reason: str = ""


@dataclass(slots=True, kw_only=True)
class SelectionRecord(_Record):
    """The outcome of frame choice for one video (written after its frames: it marks the video finished)."""

    video_id: str
    n_frames: int = 0
    frame_ids: list[str] = field(default_factory=list)
    n_scored: int = 0  # frames whose sharpness was measured
    status: str = STATUS_OK
    reason: str = ""
    detail: str = ""
    JSON_FIELDS: ClassVar[tuple[str, ...]] = ("frame_ids",)

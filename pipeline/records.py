"""Typed records of the pipeline's joints (lhotse style): slotted, stable string ids, foreign keys.

One record type per stage manifest; :mod:`pipeline.layout` says which file holds which type under which key.
The preparation stages' records live here::

    VideoRecord      videos.parquet      key video_id  (``naming.clip_name`` "<youtube_id>_<start:06d>", or the stem)
    ProbeRecord      probe.parquet       key video_id
    ActivityRecord   activity.parquet    key video_id
    SelectionRecord  selection.parquet   key video_id  (one row per video that reached frame choice)
    FrameRecord      frames.parquet      key frame_id  (``naming.frame_id`` "<video_id>/<frame_index:06d>")

and the review step's (``PushRecord`` in review_push.parquet, ``PullRecord`` in review.parquet, both keyed by
frame_id); the proposal record lives beside its nested types (``pipeline.proposals.records.ProposalRecord``).
All are built on :class:`Record`.

Every record has ``status`` (``"ok"`` or ``"rejected"``) and ``reason`` (a short code, ``""`` when kept); most
have ``detail`` (a human sentence: what was expected, what arrived). ``to_dict``/``from_dict`` keep Python
values; ``to_row``/``from_row`` are the Parquet form, where the fields named in ``JSON_FIELDS`` (lists, dicts,
nested records) are JSON strings. Nothing else in the pipeline writes or parses those strings.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from pipeline.errors import PipelineError

R = TypeVar("R", bound="Record")

STATUS_OK = "ok"
STATUS_REJECTED = "rejected"


class Record:
    """Shared conversions of the slotted record dataclasses.

    Class attributes:
        JSON_FIELDS: fields stored as JSON strings in Parquet.
        NESTED: ``{field: record type}`` for fields holding a list of nested records (each with ``to_dict`` and
            ``from_dict``); they are JSON fields too.
    """

    __slots__ = ()
    JSON_FIELDS: ClassVar[tuple[str, ...]] = ()
    NESTED: ClassVar[dict[str, Any]] = {}

    @classmethod
    def columns(cls) -> list[str]:
        """The manifest columns of this record type, in field order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def required(cls) -> list[str]:
        """The fields without a default: a table that lacks one of them cannot hold these records."""
        return [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]

    @classmethod
    def from_dict(cls: type[R], d: dict[str, Any]) -> R:
        """Build from a dict; unknown keys are ignored, missing required fields raise :class:`PipelineError`."""
        names = set(cls.columns())
        values = {k: v for k, v in d.items() if k in names}
        for name, kind in cls.NESTED.items():
            if isinstance(values.get(name), list):
                values[name] = [v if isinstance(v, kind) else kind.from_dict(v) for v in values[name]]
        try:
            return cls(**values)
        except TypeError as exc:
            raise PipelineError(f"{cls.__name__}: expected fields {sorted(names)}, got {sorted(d)} ({exc})") from exc

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in self.NESTED:
            out[name] = [v.to_dict() for v in out[name]]
        return out

    def to_row(self) -> dict[str, Any]:
        """The manifest row: nested values as JSON strings."""
        row = self.to_dict()
        for name in (*self.JSON_FIELDS, *self.NESTED):
            row[name] = json.dumps(row[name])
        return row

    @classmethod
    def from_row(cls: type[R], row: dict[str, Any]) -> R:
        """Inverse of :meth:`to_row` (also accepts NaN for missing optional values, as pandas gives them)."""
        d = {k: _clean(v) for k, v in row.items()}
        for name in (*cls.JSON_FIELDS, *cls.NESTED):
            value = d.get(name)
            if isinstance(value, str):
                d[name] = json.loads(value) if value.strip() else None
            if d.get(name) is None and name in d:
                d.pop(name)  # the field's default (an empty list)
        return cls.from_dict(d)

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK  # type: ignore[attr-defined]

    def reject(self, reason: str, detail: str = "") -> None:
        """Mark this record dropped with a reason code (and a sentence, where the record has ``detail``)."""
        self.status = STATUS_REJECTED  # type: ignore[attr-defined]
        self.reason = reason  # type: ignore[attr-defined]
        if hasattr(self, "detail"):
            self.detail = detail  # type: ignore[attr-defined]


def _clean(value: Any) -> Any:
    """pandas turns None into NaN in float columns and numpy scalars appear: give plain Python values."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@dataclass(slots=True, kw_only=True)
class VideoRecord(Record):
    """A candidate video from a source (a CSV row, a local file, an AVATAR-Synth clip)."""

    video_id: str
    path: str = ""  # absolute path of the local file as listed (a symlink keeps its own name; "" when none)
    source: str = ""  # vggsound | local | synth
    label: str = ""  # e.g. the VGGSound class
    split: str = ""
    start_s: float | None = None  # start of the 10 s clip inside the original video (VGGSound)
    status: str = STATUS_OK
    reason: str = ""
    detail: str = ""

    def to_row(self) -> dict[str, Any]:
        row = Record.to_row(self)
        row["start_s"] = math.nan if self.start_s is None else float(self.start_s)  # a float column, always
        return row


@dataclass(slots=True, kw_only=True)
class ProbeRecord(Record):
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
class ActivityRecord(Record):
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
class FrameRecord(Record):
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
class SelectionRecord(Record):
    """The outcome of frame choice for one video (written after its frames: it marks the video finished)."""

    video_id: str
    n_frames: int = 0
    frame_ids: list[str] = field(default_factory=list)
    n_scored: int = 0  # frames whose sharpness was measured
    status: str = STATUS_OK
    reason: str = ""
    detail: str = ""
    JSON_FIELDS: ClassVar[tuple[str, ...]] = ("frame_ids",)


@dataclass(slots=True, kw_only=True)
class PushRecord(Record):
    """One row of ``review_push.parquet``: the Label Studio task of a frame (``task_id`` -1 when not pushed)."""

    frame_id: str
    project_id: int
    project: str
    task_id: int = -1
    proposal: str = ""  # digest of the proposal the task shows (ProposalRecord.digest; "" before it was recorded)
    status: str = STATUS_OK
    reason: str = ""
    detail: str = ""


@dataclass(slots=True, kw_only=True)
class PullRecord(Record):
    """One row of ``review.parquet``: the annotation version of a frame last pulled, and what became of it."""

    frame_id: str
    task_id: int
    annotation_id: int
    version: str  # "<annotation id>@<updated_at>": a later pull redoes the frame only when it changes
    annotator: str = ""
    updated_at: str = ""
    status: str = STATUS_OK
    reason: str = ""
    detail: str = ""
    scenario: str = ""
    n_instances: int = 0
    split: str = ""
    lead_time_s: float | None = None  # Label Studio's own time of the annotation (seconds)
    out_dir: str = ""  # the folder of the split files the frame was merged into (absolute)

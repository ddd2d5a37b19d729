"""Typed records of the proposal stage: what backends hand the scenario rules, and the row of proposals.parquet.

``Detection`` (detector → rules), ``AudioTag`` and ``InstanceProposal`` (rules → the proposal record),
``ScenarioProposal`` (what the rules decided for one frame) and :class:`ProposalRecord`, the joint between
``propose`` and review ``push`` (key ``frame_id``; its lists are JSON in Parquet, written and read only by
:class:`pipeline.records.Record`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from pipeline.records import STATUS_OK, Record


def _known(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in d.items() if k in names}


@dataclass(slots=True, kw_only=True)
class Detection:
    """One detector box in pixel coordinates of the frame.

    Attributes:
        bbox: COCO ``[x, y, w, h]`` (top-left corner, width, height) in pixels.
        score: detector confidence in [0, 1].
        label: the detector's class name (e.g. ``"person"``, ``"Piano"``).
        vocabulary: the detector's label set (``"coco"``, ``"oiv7"`` or ``"custom"``), needed because a name can
            mean different things in two sets (COCO ``mouse`` is a computer mouse, OIV7 ``Mouse`` an animal).
    """

    bbox: list[float]
    score: float
    label: str
    vocabulary: str = "coco"

    def xyxy(self) -> list[float]:
        x, y, w, h = self.bbox
        return [x, y, x + w, y + h]

    def area(self) -> float:
        return float(self.bbox[2] * self.bbox[3])


@dataclass(slots=True, kw_only=True)
class AudioTag:
    """One audio-tagger label with its score and the taxonomy entity it maps to (category, supercategory or None)."""

    label: str
    score: float
    category: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(float(self.score), 4), "category": self.category}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AudioTag:
        return cls(**_known(cls, d))


@dataclass(slots=True, kw_only=True)
class InstanceProposal:
    """A visible instance proposed for review (the ``instances`` items of the proposals manifest)."""

    instance_id: int
    category: str
    detector_label: str
    det_score: float
    bbox: list[float]
    sounding: bool = False
    sounding_score: float = 0.0
    rle: dict[str, Any] | None = None  # COCO RLE of the mask (None: the segmenter gave none)
    track_id: int | None = None  # ties one physical instance across a video's frames (None: not tracked)

    def xyxy(self) -> list[float]:
        x, y, w, h = self.bbox
        return [x, y, x + w, y + h]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["det_score"] = round(float(self.det_score), 4)
        out["sounding_score"] = round(float(self.sounding_score), 4)
        out["bbox"] = [round(float(v), 2) for v in self.bbox]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InstanceProposal:
        return cls(**_known(cls, d))


@dataclass(slots=True, kw_only=True)
class ScenarioProposal:
    """What the scenario rules decided for one frame."""

    scenario: str | None
    score: float
    heard_categories: list[str] = field(default_factory=list)
    instances: list[InstanceProposal] = field(default_factory=list)
    flag_reasons: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.flag_reasons)


@dataclass(slots=True, kw_only=True)
class ProposalRecord(Record):
    """One row of ``proposals.parquet``: a frame with its proposed scenario and instances (key ``frame_id``)."""

    frame_id: str
    video_id: str
    image_path: str
    width: int
    height: int
    frame_index: int
    timestamp_s: float
    label: str = ""
    split: str = ""
    model_version: str = ""  # backends, weights and rule thresholds that made it (a label: the report's "backend")
    settings: dict[str, Any] = field(default_factory=dict)  # what made it, by section (pipeline.proposals.provenance)
    scenario: str | None = None  # None: the rules proposed none (no tagger, nothing heard)
    scenario_score: float = 0.0
    flagged: bool = False
    flag_reasons: list[str] = field(default_factory=list)
    audio_tags: list[AudioTag] = field(default_factory=list)
    heard_categories: list[str] = field(default_factory=list)
    instances: list[InstanceProposal] = field(default_factory=list)
    status: str = STATUS_OK
    reason: str = ""
    JSON_FIELDS: ClassVar[tuple[str, ...]] = ("flag_reasons", "heard_categories", "settings")
    NESTED: ClassVar[dict[str, Any]] = {"audio_tags": AudioTag, "instances": InstanceProposal}

    @classmethod
    def for_frame(cls, frame: Any, model_version: str, **fields: Any) -> ProposalRecord:
        """A proposal of a :class:`~pipeline.records.FrameRecord` (the frame's own fields copied)."""
        return cls(frame_id=frame.frame_id, video_id=frame.video_id, image_path=frame.image_path, width=frame.width,
                   height=frame.height, frame_index=frame.frame_index, timestamp_s=frame.timestamp_s,
                   label=frame.label or "", split=frame.split or "", model_version=model_version, **fields)

    def digest(self) -> str:
        """A short hash of the whole record as stored: what ``review push`` records, so a task's pre-annotation can
        be told apart from a proposal made after it (see :mod:`pipeline.proposals.provenance`)."""
        text = json.dumps(self.to_row(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

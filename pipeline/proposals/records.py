"""Typed records passed between the proposal backends and the scenario rules."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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


@dataclass(slots=True, kw_only=True)
class InstanceProposal:
    """A visible instance proposed for review (contract 4's ``instances`` items)."""

    instance_id: int
    category: str
    detector_label: str
    det_score: float
    bbox: list[float]
    sounding: bool = False
    sounding_score: float = 0.0
    rle: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["det_score"] = round(float(self.det_score), 4)
        out["sounding_score"] = round(float(self.sounding_score), 4)
        out["bbox"] = [round(float(v), 2) for v in self.bbox]
        return out


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

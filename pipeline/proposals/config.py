"""Configuration of the propose stage: which backends, their options, thresholds. Unknown keys are refused."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import PipelineError
from pipeline.proposals.scenario import RuleConfig


@dataclass
class ProposeConfig:
    """Every knob of the stage (defaults: the full-size models of the paper).

    ``*_options`` are passed to the backend constructors (see ``make_detector`` / ``make_tagger`` /
    ``make_segmenter``); ``device`` is given to every backend that does not set its own.
    """

    detector: str = "yolo"
    detector_options: dict[str, Any] = field(default_factory=lambda: {"model": "yolov8x-oiv7"})
    tagger: str = "cavmae"
    tagger_options: dict[str, Any] = field(default_factory=dict)
    segmenter: str = "auto"  # SAM when its checkpoint is present, else GrabCut (weight-free)
    segmenter_options: dict[str, Any] = field(default_factory=lambda: {"checkpoint": "sam_vit_h"})
    device: str = "auto"
    batch_size: int = 8  # frames per detector / segmenter batch
    taxonomy: str | None = None  # path; default annotations/taxonomy.yaml
    rules: RuleConfig = field(default_factory=RuleConfig)
    top_k_tags: int = 5  # audio_tags kept per frame
    min_tag_score: float = 0.05  # audio_tags below this are not written
    flush_every: int = 50  # manifest rows per part file
    model_version: str | None = None  # default: built from the backends' names and weights

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ProposeConfig:
        """Build from a plain mapping (YAML/JSON); unknown keys raise :class:`PipelineError`."""
        data = dict(data or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PipelineError(f"propose config: unknown key(s) {unknown}; expected some of {sorted(known)}")
        rules = data.pop("rules", None)
        if isinstance(rules, dict):
            rule_keys = {f.name for f in dataclasses.fields(RuleConfig)}
            bad = sorted(set(rules) - rule_keys)
            if bad:
                raise PipelineError(f"propose config: unknown rules key(s) {bad}; expected some of {sorted(rule_keys)}")
            data["rules"] = RuleConfig(**rules)
        elif rules is not None:
            data["rules"] = rules
        return cls(**data)

    @classmethod
    def no_weights(cls) -> ProposeConfig:
        """All backends ``none``: frames go to review without pre-annotations."""
        return cls(detector="none", detector_options={}, tagger="none", segmenter="none", segmenter_options={})

    @classmethod
    def cpu_demo(cls, shared_models: str) -> ProposeConfig:
        """The small real models that run on a CPU: YOLOv8n int8 ONNX (COCO) + YAMNet, GrabCut masks (no weights)."""
        return cls(detector_options={"model": f"{shared_models}/yolov8n_coco80_int8.onnx"}, tagger="yamnet",
                   tagger_options={"model": f"{shared_models}/yamnet.tflite"}, segmenter="grabcut",
                   segmenter_options={}, device="cpu")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

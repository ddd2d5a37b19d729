"""Configuration of the propose stage: which backends, their options, thresholds (loaded by pipeline.config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.config import StrictConfig, require
from pipeline.proposals.scenario import RuleConfig

DETECTORS = ("yolo", "none")
TAGGERS = ("cavmae", "yamnet", "none")
SEGMENTERS = ("auto", "sam", "grabcut", "none")


@dataclass
class ProposeConfig(StrictConfig):
    """Every knob of the stage (defaults: the full-size models of the paper).

    ``*_options`` are passed to the backend constructors (see ``make_detector`` / ``make_tagger`` /
    ``make_segmenter``); ``device`` is given to every backend that does not set its own. Types and values are
    checked when the config is made (``batch_size="16"`` is refused before any model loads).
    """

    detector: str = "yolo"  # yolo | none
    detector_options: dict[str, Any] = field(default_factory=lambda: {"model": "yolov8x-oiv7"})
    tagger: str = "cavmae"  # cavmae | yamnet | none
    tagger_options: dict[str, Any] = field(default_factory=dict)
    segmenter: str = "auto"  # auto (SAM when its checkpoint is present, else GrabCut) | sam | grabcut | none
    segmenter_options: dict[str, Any] = field(default_factory=lambda: {"checkpoint": "sam_vit_h"})
    device: str = "auto"
    batch_size: int = 8  # frames per detector / segmenter batch
    taxonomy: str | None = None  # path; default annotations/taxonomy.yaml
    rules: RuleConfig = field(default_factory=RuleConfig)
    top_k_tags: int = 5  # audio_tags kept per frame
    min_tag_score: float = 0.05  # audio_tags below this are not written
    flush_every: int = 50  # manifest rows per part file
    model_version: str | None = None  # default: built from the backends' names and weights

    def validate(self) -> None:
        for name, known in (("detector", DETECTORS), ("tagger", TAGGERS), ("segmenter", SEGMENTERS)):
            require(getattr(self, name) in known, name, f"one of {known}", getattr(self, name))
        require(self.batch_size >= 1, "batch_size", "at least 1", self.batch_size)
        require(self.top_k_tags >= 0, "top_k_tags", "0 or more", self.top_k_tags)
        require(self.flush_every >= 1, "flush_every", "at least 1", self.flush_every)
        require(0.0 <= self.min_tag_score <= 1.0, "min_tag_score", "a score in [0, 1]", self.min_tag_score)

    @classmethod
    def no_weights(cls) -> ProposeConfig:
        """All backends ``none``: frames go to review without pre-annotations."""
        return cls(**cls.no_weights_dict())

    @staticmethod
    def no_weights_dict() -> dict[str, Any]:
        return {"detector": "none", "detector_options": {}, "tagger": "none", "segmenter": "none",
                "segmenter_options": {}}

    @classmethod
    def cpu_demo(cls, shared_models: str) -> ProposeConfig:
        """The small real models that run on a CPU: YOLOv8n int8 ONNX (COCO) + YAMNet, GrabCut masks (no weights)."""
        return cls(**cls.cpu_demo_dict(shared_models))

    @staticmethod
    def cpu_demo_dict(shared_models: str) -> dict[str, Any]:
        return {"detector_options": {"model": f"{shared_models}/yolov8n_coco80_int8.onnx"}, "tagger": "yamnet",
                "tagger_options": {"model": f"{shared_models}/yamnet.tflite"}, "segmenter": "grabcut",
                "segmenter_options": {}, "device": "cpu"}

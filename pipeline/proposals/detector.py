"""Object detectors: the protocol, the registry by name, the ``none`` backend and YOLOv8 through ultralytics.

``YoloDetector`` accepts any model ultralytics loads: an explicit ``.pt`` (the default ``yolov8x-oiv7.pt``,
Open Images V7, 600 classes incl. instruments; or a COCO model), an ``.onnx`` export (the CPU demo model
``yolov8n_coco80_int8.onnx``, through onnxruntime) or a ``.yaml`` architecture (random weights, for tests and
benchmarks). Note: ultralytics loads its ``.pt`` files with its own pickle-based loader (they hold whole model
objects, not state dicts), which is why registry checkpoints are verified against their SHA-256 before use.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from pipeline.errors import PipelineError
from pipeline.proposals.records import Detection

log = logging.getLogger(__name__)


@runtime_checkable
class Detector(Protocol):
    """Finds boxes in BGR uint8 images ``(H, W, 3)``; returns one list of detections per image."""

    name: str

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]: ...


class NoneDetector:
    """No-weights mode: no boxes."""

    name = "none"

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        return [[] for _ in images]


def vocabulary_of(names: dict[int, str] | Sequence[str]) -> str:
    """``coco`` for the 80 COCO classes, ``oiv7`` for the 600 Open Images V7 ones, else ``custom``."""
    values = list(names.values()) if isinstance(names, dict) else list(names)
    if len(values) == 80 and values[0] == "person":
        return "coco"
    if len(values) >= 600 and values[0] == "Accordion":
        return "oiv7"
    return "custom"


def _verify_registry_file(path: Path) -> None:
    """Refuse a cached registry ``.pt`` whose SHA-256 is known and differs (ultralytics unpickles it)."""
    from pipeline.proposals import weights

    entry = next((e for e in weights.REGISTRY.values() if e.filename == path.name and e.sha256), None)
    if entry is not None and path.suffix == ".pt" and weights.sha256_file(path) != entry.sha256:
        raise PipelineError(f"detector checkpoint {path}: SHA-256 differs from the published {entry.name} file; "
                            f"refusing to unpickle it (re-download with `avatar-pipeline models download {entry.name}"
                            " --force`)")


def _named_classes(vocabulary: str, count: int) -> dict[int, str]:
    from pipeline.proposals.taxonomy import _detector_names, ultralytics_class_names

    names = ultralytics_class_names(vocabulary)
    if _detector_names(vocabulary) is None or len(names) != count:
        raise PipelineError(f"class_names={vocabulary!r}: expected a model with {len(names)} classes, got {count}")
    return dict(enumerate(names))


def _architecture_yaml(ref: str, num_classes: int | None) -> str:
    """An ultralytics model YAML, rewritten to a temporary copy when another class count is asked for."""
    if num_classes is None:
        return ref
    import tempfile

    import yaml
    from ultralytics.nn.tasks import yaml_model_load

    cfg = yaml_model_load(ref)  # resolves "yolov8x.yaml" to yolov8.yaml with scale "x"
    cfg["nc"] = int(num_classes)
    folder = Path(tempfile.mkdtemp(prefix="avatar-yolo-"))
    out = folder / Path(ref).name  # the file name keeps the scale letter ultralytics reads from it
    out.write_text(yaml.safe_dump({k: v for k, v in cfg.items() if k != "yaml_file"}), encoding="utf-8")
    return str(out)


class YoloDetector:
    """YOLOv8 detector with batched inference.

    Args:
        model: a registry name, a checkpoint path (``.pt``/``.onnx``) or an architecture YAML (``yolov8n.yaml``).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        conf: minimum confidence kept.
        iou: NMS IoU threshold.
        imgsz: inference size (pixels, longest side).
        batch_size: images per forward pass.
        max_det: most boxes per image.
        half: FP16 inference on CUDA.
        class_names: ``"coco"`` or ``"oiv7"``: name the classes of an architecture YAML (random weights have
            index names) so the taxonomy can map them.
        num_classes: class count of an architecture YAML (default the YAML's, 80; 600 for an OIV7-size head).
    """

    name = "yolo"

    def __init__(self, model: str | Path = "yolov8x-oiv7", *, device: str = "auto", conf: float = 0.25,
                 iou: float = 0.7, imgsz: int = 640, batch_size: int = 8, max_det: int = 100, half: bool = False,
                 class_names: str | None = None, num_classes: int | None = None):
        from pipeline.proposals.runtime import import_ultralytics, resolve_device

        import_ultralytics()
        from ultralytics import YOLO

        ref = str(model)
        if ref.endswith((".yaml", ".yml")):
            source = _architecture_yaml(ref, num_classes)  # random weights, built offline
        else:
            from pipeline.proposals.weights import resolve

            path = resolve(ref)
            _verify_registry_file(path)
            source = str(path)
        try:
            self.model = YOLO(source, task="detect")
            self.names: dict[int, str] = dict(self.model.names)  # an ONNX backend is only opened here
        except Exception as exc:  # ultralytics raises many types for unreadable files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise PipelineError(f"detector {ref}: ultralytics could not load it ({type(exc).__name__}: {first})") \
                from None
        self.device = resolve_device(device)
        if class_names:
            self.names = _named_classes(class_names, len(self.names))
        self.vocabulary = vocabulary_of(self.names)
        self.conf, self.iou, self.imgsz, self.max_det = conf, iou, imgsz, max_det
        self.batch_size, self.half = max(1, batch_size), half and self.device.startswith("cuda")

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        out: list[list[Detection]] = []
        for i in range(0, len(images), self.batch_size):
            batch = list(images[i:i + self.batch_size])
            extra = {"half": True} if self.half else {}  # passing half=False warns in ultralytics 8.4
            results = self.model.predict(batch, conf=self.conf, iou=self.iou, imgsz=self.imgsz, device=self.device,
                                         max_det=self.max_det, batch=len(batch), verbose=False, **extra)
            out.extend(self._to_detections(r) for r in results)
        return out

    def _to_detections(self, result) -> list[Detection]:
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return []
        xyxy = boxes.xyxy.cpu().numpy()
        scores = boxes.conf.cpu().numpy()
        classes = boxes.cls.cpu().numpy().astype(int)
        return [Detection(bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)], score=float(s),
                          label=self.names[int(c)], vocabulary=self.vocabulary)
                for (x0, y0, x1, y1), s, c in zip(xyxy, scores, classes, strict=True)]


DETECTORS = {"none": f"{__name__}:NoneDetector", "yolo": f"{__name__}:YoloDetector"}


def make_detector(name: str, **options) -> Detector:
    """Build a registered detector by name (``none``, ``yolo``) with backend options."""
    if name not in DETECTORS:
        raise PipelineError(f"detector {name!r}: expected one of {sorted(DETECTORS)}")
    module, cls = DETECTORS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)

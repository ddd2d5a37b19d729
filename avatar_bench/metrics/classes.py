"""Registered metric classes (TrackEval style) over the per-frame sufficient statistics.

A metric is a small class that declares its output ``fields`` and the frame ``subsets`` it applies to, and
computes its fields from a :class:`FrameTable` with the pure functions of :mod:`.functional`. The summary key
of a value is ``<subset>_<field>`` unless the metric says otherwise, so tables and CSV files are generic.

Subsets: the four scenarios, ``total`` (all on-screen frames: single + mixed + multi_entity), ``cross_event``
(on-screen frames of cross-event videos) and ``all``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from avatar_bench.metrics import functional as F

ON_SCREEN = ("single", "mixed", "multi_entity")


@dataclass(frozen=True)
class FrameTable:
    """One row per scored frame. Off-screen frames have inter = pred_area = gt_area = 0 (no IoU)."""

    image_id: np.ndarray  # (N,) int64
    scenario: np.ndarray  # (N,) str
    cross_event: np.ndarray  # (N,) bool: the frame's video is cross-event
    inter: np.ndarray  # (N,) int64 |P ∩ G|
    pred_area: np.ndarray  # (N,) int64 |P|
    gt_area: np.ndarray  # (N,) int64 |G|
    score: np.ndarray  # (N,) float64 max of the resized heatmap

    @classmethod
    def from_columns(cls, **cols: Sequence[Any]) -> FrameTable:
        dtypes = {"image_id": np.int64, "scenario": str, "cross_event": bool, "inter": np.int64,
                  "pred_area": np.int64, "gt_area": np.int64, "score": np.float64}
        return cls(**{k: np.asarray(cols[k], dtype=t) for k, t in dtypes.items()})

    def __len__(self) -> int:
        return int(self.image_id.size)

    @property
    def iou(self) -> np.ndarray:
        """Per-frame IoU; NaN for off-screen frames (scored by TN, not IoU)."""
        iou = F.iou_from_counts(self.inter, self.pred_area, self.gt_area)
        return np.where(self.on_screen, iou, np.nan)

    @property
    def on_screen(self) -> np.ndarray:
        return np.isin(self.scenario, ON_SCREEN)

    def select(self, mask: np.ndarray) -> FrameTable:
        return FrameTable(**{f.name: getattr(self, f.name)[mask] for f in dataclasses.fields(self)})


SUBSETS: dict[str, Callable[[FrameTable], np.ndarray]] = {
    "single": lambda t: t.scenario == "single",
    "mixed": lambda t: t.scenario == "mixed",
    "multi_entity": lambda t: t.scenario == "multi_entity",
    "off_screen": lambda t: t.scenario == "off_screen",
    "total": lambda t: t.on_screen,
    "cross_event": lambda t: t.on_screen & t.cross_event,
    "all": lambda t: np.ones(len(t), dtype=bool),
}
ON_SCREEN_SUBSETS = (*ON_SCREEN, "total", "cross_event")


class Metric:
    """Base class: declare ``name``, ``fields``, ``subsets``; implement :meth:`compute`."""

    name: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]
    subsets: ClassVar[tuple[str, ...]]
    description: ClassVar[str] = ""

    def compute(self, frames: FrameTable, settings: Mapping[str, Any]) -> dict[str, float]:
        """Values of ``fields`` over ``frames`` (already restricted to one subset)."""
        raise NotImplementedError

    def key(self, subset: str, field: str) -> str:
        """The summary key of ``field`` on ``subset``."""
        return f"{subset}_{field}"


REGISTRY: dict[str, type[Metric]] = {}


def register(cls: type[Metric]) -> type[Metric]:
    """Class decorator: add a metric to :data:`REGISTRY` under its ``name``."""
    if cls.name in REGISTRY:
        raise ValueError(f"metric {cls.name!r} is already registered")
    REGISTRY[cls.name] = cls
    return cls


@register
class FrameCount(Metric):
    name = "count"
    fields = ("n",)
    subsets = tuple(SUBSETS)
    description = "number of scored frames"

    def compute(self, frames, settings):
        return {"n": len(frames)}

    def key(self, subset, field):
        return "n_frames" if subset == "all" else f"n_{subset}"


@register
class CIoU(Metric):
    name = "ciou"
    fields = ("ciou",)
    subsets = ON_SCREEN_SUBSETS
    description = "% of frames with IoU >= 0.5 (LVS)"

    def compute(self, frames, settings):
        return {"ciou": F.ciou(frames.iou, settings.get("ciou_threshold", F.CIOU_THRESHOLD))}


@register
class AUC(Metric):
    name = "auc"
    fields = ("auc",)
    subsets = ON_SCREEN_SUBSETS
    description = "area under the success curve over IoU thresholds 0:0.05:1, trapezoid, % (LVS)"

    def compute(self, frames, settings):
        return {"auc": F.auc(frames.iou)}


@register
class TrueNegative(Metric):
    name = "tn"
    fields = ("tn",)
    subsets = ("off_screen",)
    description = "% of off-screen frames whose absolute mask (>= tau) is empty"

    def compute(self, frames, settings):
        return {"tn": F.tn_rate(frames.score, settings["tau"])}


@register
class OffscreenAUROC(Metric):
    name = "auroc"
    fields = ("offscreen_auroc",)
    subsets = ("all",)
    description = "AUROC (%) of the per-frame max, on-screen frames positive, off-screen negative"

    def compute(self, frames, settings):
        on = frames.on_screen
        return {"offscreen_auroc": F.auroc(frames.score[on], frames.score[frames.scenario == "off_screen"])}

    def key(self, subset, field):
        return field


@register
class CrossEventDelta(Metric):
    name = "cross_event_delta"
    fields = ("cross_event_delta",)
    subsets = ("all",)
    description = "cross-event CIoU minus total CIoU (percentage points)"

    def compute(self, frames, settings):
        thr = settings.get("ciou_threshold", F.CIOU_THRESHOLD)
        cross = frames.select(SUBSETS["cross_event"](frames))
        total = frames.select(SUBSETS["total"](frames))
        return {"cross_event_delta": F.ciou(cross.iou, thr) - F.ciou(total.iou, thr)}

    def key(self, subset, field):
        return field


def compute_summary(frames: FrameTable, settings: Mapping[str, Any],
                    metrics: Sequence[str] | None = None) -> dict[str, float]:
    """The flat summary: every registered (or named) metric on each of its subsets."""
    out: dict[str, float] = {}
    for name in metrics or REGISTRY:
        metric = REGISTRY[name]()
        for subset in metric.subsets:
            values = metric.compute(frames.select(SUBSETS[subset](frames)), settings)
            for field in metric.fields:
                out[metric.key(subset, field)] = values[field]
    return out


def summary_by_subset(summary: Mapping[str, float], metrics: Sequence[str] | None = None
                      ) -> dict[str, dict[str, float]]:
    """Regroup a flat summary as {subset: {field: value}} (for CSV rows), in registry order."""
    out: dict[str, dict[str, float]] = {s: {} for s in SUBSETS}
    for name in metrics or REGISTRY:
        metric = REGISTRY[name]()
        for subset in metric.subsets:
            for field in metric.fields:
                key = metric.key(subset, field)
                if key in summary:
                    out[subset][field] = summary[key]
    return {s: row for s, row in out.items() if row}

"""The pre-annotation of one frame: regions for every detection, choices that never contradict the regions.

- A detection with a mask is a brush region; one without a mask (no segmenter, a box GrabCut could not use, an
  empty mask) is a rectangle region with the same label, never dropped: the annotator paints its mask.
- The scenario is preselected only when the regions sent fit it (``avatar_bench.rules``, the one scenario rule);
  a heard category is preselected unless the proposal saw it sounding in a region that could not be sent. What
  was not preselected is said in the hint, with the reason.
- The label lists are per task (Label Studio's dynamic labels): the categories proposed or heard for the frame
  first, then the rest; a filter box searches them all.
- Everything is strict JSON: NaN and infinities become null, numpy scalars plain numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from avatar_bench import rle as coco_rle
from avatar_bench.rules import scenario_violations
from pipeline.proposals.records import InstanceProposal
from pipeline.review import config as C
from pipeline.review.brush import coco_to_brush


def strict_json(value: Any) -> Any:
    """``value`` with NaN/inf floats as ``None`` and numpy scalars/arrays as Python values (JSON without NaN)."""
    if isinstance(value, Mapping):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):  # numpy scalar or array
        return strict_json(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def finite(value: Any, default: float = 0.0) -> float:
    """A finite float from a manifest value (``None``, NaN, inf and non-numbers give ``default``)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if math.isfinite(out) else default


def _common(region: str, height: int, width: int) -> dict[str, Any]:
    return {"id": region, "to_name": C.IMAGE, "original_width": width, "original_height": height,
            "image_rotation": 0}


def box_result(inst: InstanceProposal, region: str, height: int, width: int) -> dict[str, Any] | None:
    """A rectangle region (percent of the frame) from the instance's COCO ``bbox``; ``None`` without a usable box."""
    bbox = inst.bbox
    if not isinstance(bbox, Sequence) or len(bbox) != 4:
        return None
    x, y, w, h = (finite(v, math.nan) for v in bbox)
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        return None
    x0, y0 = min(max(x, 0.0), width), min(max(y, 0.0), height)
    x1, y1 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
    if x1 <= x0 or y1 <= y0:
        return None
    value = {"x": 100 * x0 / width, "y": 100 * y0 / height, "width": 100 * (x1 - x0) / width,
             "height": 100 * (y1 - y0) / height, "rotation": 0, "rectanglelabels": [inst.category]}
    return {**_common(region, height, width), "type": "rectanglelabels", "from_name": C.BOX, "value": value,
            "score": finite(inst.det_score)}


def brush_result(inst: InstanceProposal, region: str, height: int, width: int) -> dict[str, Any]:
    return {**_common(region, height, width), "type": "brushlabels", "from_name": C.MASK,
            "value": {"format": "rle", "rle": coco_to_brush(inst.rle), "brushlabels": [inst.category]},
            "score": finite(inst.det_score)}


def sounding_result(inst: InstanceProposal, region: str, height: int, width: int) -> dict[str, Any]:
    return {**_common(region, height, width), "type": "choices", "from_name": C.SOUNDING,
            "value": {"choices": [C.SOUNDING_YES if inst.sounding else C.SOUNDING_NO]}}


def mask_problem(rle: Any, height: int, width: int) -> str | None:
    """Why a proposal's mask cannot be sent as a brush region (``None``: it can)."""
    if rle is None:
        return "no mask"
    problem = coco_rle.is_valid(rle)
    if problem:
        return problem
    if list(rle["size"]) != [height, width]:
        return f"mask size {rle['size']} differs from the frame's [{height}, {width}]"
    return None if coco_rle.area(rle) > 0 else "empty mask"


@dataclass
class Prediction:
    """The results of one frame and what the hint must say about them."""

    results: list[dict[str, Any]] = field(default_factory=list)
    regions: list[dict[str, Any]] = field(default_factory=list)  # what pull needs to link regions to proposals
    sent: list[tuple[str, bool]] = field(default_factory=list)  # (category, sounding) of every region sent
    unsent_sounding: set[str] = field(default_factory=set)  # categories seen sounding in regions not sent
    boxes: list[str] = field(default_factory=list)  # categories sent as rectangles
    notes: list[str] = field(default_factory=list)


def instance_regions(instances: Iterable[InstanceProposal], categories: Mapping[str, Any] | set[str],
                     height: int, width: int) -> Prediction:
    """Brush regions for masked instances, rectangle regions for the others; unknown categories are noted."""
    pred = Prediction()
    for k, inst in enumerate(instances):
        category, region = inst.category, f"p{k}"
        if category not in categories:
            pred.notes.append(f"a proposed {category!r} is not a category of this project: not shown")
            if inst.sounding:
                pred.unsent_sounding.add(str(category))
            continue
        problem = mask_problem(inst.rle, height, width)
        mask = brush_result(inst, region, height, width) if problem is None else box_result(inst, region, height,
                                                                                             width)
        if mask is None:
            pred.notes.append(f"a proposed {category} has neither a mask ({problem}) nor a box: not shown")
            if inst.sounding:
                pred.unsent_sounding.add(str(category))
            continue
        if problem is not None:
            pred.boxes.append(str(category))
        pred.results += [mask, sounding_result(inst, region, height, width)]
        pred.sent.append((str(category), bool(inst.sounding)))
        pred.regions.append({"region": region, "instance_id": inst.instance_id, "category": category,
                             "track_id": inst.track_id, "det_score": finite(inst.det_score),
                             "sounding_score": finite(inst.sounding_score), "box_only": problem is not None})
    if pred.boxes:
        pred.notes.append(f"{len(pred.boxes)} detection(s) without a mask are boxes ({', '.join(pred.boxes)}): "
                          "paint each mask with the brush (same label), then delete the box")
    return pred


def preselect(pred: Prediction, scenario: str | None, heard: list[str]) -> tuple[str | None, list[str]]:
    """The scenario and heard categories to preselect: only what the regions sent back up (the rest is noted)."""
    kept_heard = [h for h in heard if h not in pred.unsent_sounding]
    dropped = [h for h in heard if h in pred.unsent_sounding]
    if dropped:
        pred.notes.append(f"heard {', '.join(dropped)} not preselected: the region it was seen sounding in "
                          "could not be shown")
    if not scenario:
        return None, kept_heard
    problems = scenario_violations(scenario, pred.sent, kept_heard)
    if problems:
        pred.notes.append(f"scenario {scenario} not preselected: {'; '.join(problems)}")
        return None, kept_heard
    return scenario, kept_heard


def label_options(first: Iterable[str], categories: Sequence[str], colours: Mapping[str, str] | None = None) \
        -> list[dict[str, str]]:
    """Dynamic label options: the frame's categories first (in the order given), then the others in list order."""
    known = set(categories)
    front = list(dict.fromkeys(c for c in first if c in known))
    placed = set(front)
    order = front + [c for c in categories if c not in placed]
    if colours is None:
        return [{"value": c} for c in order]
    return [{"value": c, "background": colours[c]} for c in order]


def colours_of(categories: Sequence[str]) -> dict[str, str]:
    """One stable colour per category (its position in the project's list), as in the static config."""
    return {c: C.PALETTE[i % len(C.PALETTE)] for i, c in enumerate(categories)}

"""One task of Label Studio's JSON export -> a :class:`ReviewedFrame` (exact COCO RLE masks, choices, provenance).

This module and ``tasks.py`` are the only places that read or write Label Studio's result JSON. The frame's
scenario follows THE scenario rule of AVATAR (:mod:`avatar_bench.rules`): inferred from the instances when the
annotator chose none, checked against them when they chose one, so a frame that review accepts is one that
export and validation accept (two sounding instances of one category are ``mixed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pipeline.review.config as C
from avatar_bench.format import SCENARIOS
from avatar_bench.rules import scenario_of, scenario_violations
from pipeline.records import STATUS_OK, STATUS_REJECTED
from pipeline.review.brush import BrushError, brush_to_coco

STATUS_SKIPPED = "skipped"


class MalformedAnnotation(ValueError):
    """An annotation that cannot be converted (wrong mask size, unknown label...): the frame is skipped."""


@dataclass
class ReviewedInstance:
    category: str
    segmentation: dict[str, Any]  # COCO RLE, counts as str
    sounding: bool | None  # None only while parsing: no choice made (resolved from the scenario)
    region: str  # Label Studio region id ("p<k>" for a pre-annotated proposal)
    proposal: dict[str, Any] | None = None  # the proposal this region came from, when the annotator kept it
    changed: bool = True  # the mask differs from the proposal's (or there was none)


@dataclass
class ReviewedFrame:
    frame_id: str
    task_id: int
    annotation_id: int
    updated_at: str
    annotator: str
    data: dict[str, Any]
    status: str = STATUS_OK  # ok | rejected (by the annotator) | skipped (annotation cancelled)
    scenario: str = ""
    heard: list[str] = field(default_factory=list)
    instances: list[ReviewedInstance] = field(default_factory=list)
    lead_time_s: float | None = None

    @property
    def version(self) -> str:
        """What a later pull compares to decide whether the frame changed (:func:`annotation_version`)."""
        return f"{self.annotation_id}@{self.updated_at}"


def _stamp(ann: dict[str, Any]) -> str:
    return str(ann.get("updated_at") or ann.get("created_at") or "")


def annotation_version(ann: dict[str, Any]) -> str:
    """``<annotation id>@<updated_at>`` of a raw annotation: the :attr:`ReviewedFrame.version` it converts to."""
    return f"{int(ann['id'])}@{_stamp(ann)}"


def latest_annotation(task: dict[str, Any]) -> dict[str, Any] | None:
    """The most recently updated annotation of a task (cancelled ones included: a skip is a decision too)."""
    anns = task.get("annotations") or []
    return max(anns, key=lambda a: (str(a.get("updated_at") or ""), int(a.get("id") or 0)), default=None)


def _choices(results: list[dict[str, Any]], name: str) -> list[str]:
    for r in results:
        if r.get("from_name") == name and r.get("type") == "choices":
            return list((r.get("value") or {}).get("choices") or [])
    return []


def _prediction_masks(ann: dict[str, Any]) -> dict[str, Any]:
    pred = ann.get("prediction") or {}
    return {r["id"]: r["value"].get("rle") for r in pred.get("result") or []
            if r.get("type") == "brushlabels" and "id" in r and isinstance(r.get("value"), dict)}


def _instances(results: list[dict[str, Any]], data: dict[str, Any], categories: set[str],
               pred_masks: dict[str, Any]) -> list[ReviewedInstance]:
    height, width = int(data["height"]), int(data["width"])
    sounding = {r.get("id"): _choices([r], C.SOUNDING) for r in results if r.get("from_name") == C.SOUNDING}
    proposals = {p["region"]: p for p in data.get("regions") or []}
    out = []
    for r in results:
        if r.get("type") == "rectanglelabels":  # a detection pushed without a mask: it has no mask yet
            labels = ", ".join((r.get("value") or {}).get("rectanglelabels") or []) or "no label"
            raise MalformedAnnotation(f"region {r.get('id')}: still a box ({labels}): paint its mask with the brush "
                                      "(same label) or delete the box")
        if r.get("type") != "brushlabels" or r.get("from_name") != C.MASK:
            continue
        value = r.get("value") or {}
        labels, rid = value.get("brushlabels") or [], r.get("id")
        if len(labels) != 1 or labels[0] not in categories:
            raise MalformedAnnotation(f"region {rid}: expected one label among the project's categories, got {labels}")
        size = (r.get("original_height"), r.get("original_width"))
        if size != (height, width):
            raise MalformedAnnotation(f"region {rid}: mask drawn on a {size[0]}x{size[1]} image, expected the frame's "
                                      f"{height}x{width}")
        try:
            segmentation = brush_to_coco(value.get("rle"), height, width)
        except BrushError as exc:
            raise MalformedAnnotation(f"region {rid}: {exc}") from None
        choice = sounding.get(rid) or []
        out.append(ReviewedInstance(category=labels[0], segmentation=segmentation,
                                    sounding=(C.SOUNDING_YES in choice) if choice else None,
                                    region=str(rid), proposal=proposals.get(rid),
                                    changed=pred_masks.get(rid) != value.get("rle")))
    return out


def _scenario(chosen: str, instances: list[ReviewedInstance], heard: list[str]) -> str:
    """The annotator's scenario checked by the rule, or the rule's own when none was chosen."""
    pairs = [(i.category, bool(i.sounding)) for i in instances]
    if not chosen:
        inferred = scenario_of(pairs, heard)
        if inferred is None:
            raise MalformedAnnotation("no scenario chosen, no sounding instance and no heard category: mark what "
                                      "sounds (or tick the heard category for an off-screen sound), or reject the "
                                      "frame")
        return inferred
    problems = scenario_violations(chosen, pairs, heard)
    if problems:
        raise MalformedAnnotation(f"scenario {chosen!r} contradicts the frame: {'; '.join(problems)}")
    return chosen


def convert_task(task: dict[str, Any], categories: set[str], users: dict[int, str]) -> ReviewedFrame | None:
    """Read the latest annotation of one exported task; ``None`` when the task has none.

    Raises:
        MalformedAnnotation: a region with an unknown label, a mask of the wrong size, an unknown scenario.
    """
    ann = latest_annotation(task)
    if ann is None:
        return None
    data = task.get("data") or {}
    by = ann.get("completed_by")
    by_id = by.get("id") if isinstance(by, dict) else by
    frame = ReviewedFrame(frame_id=str(data.get("frame_id")), task_id=int(task["id"]), annotation_id=int(ann["id"]),
                          updated_at=_stamp(ann),
                          annotator=users.get(by_id, str(by_id)), data=data, lead_time_s=ann.get("lead_time"))
    results = ann.get("result") or []
    if ann.get("was_cancelled"):
        frame.status = STATUS_SKIPPED
        return frame
    if C.REJECT_CHOICE in _choices(results, C.REJECT):
        frame.status = STATUS_REJECTED
        return frame
    frame.instances = _instances(results, data, categories, _prediction_masks(ann))
    chosen = _choices(results, C.SCENARIO)
    if chosen and chosen[0] not in SCENARIOS:
        raise MalformedAnnotation(f"scenario {chosen[0]!r} is not one of {SCENARIOS}")
    chosen_scenario = chosen[0] if chosen else ""
    for inst in frame.instances:
        if inst.sounding is None:  # the (required) sounding choice is missing: sounding unless off screen
            inst.sounding = chosen_scenario != "off_screen"
    heard = _choices(results, C.HEARD)
    unknown = [h for h in heard if h not in categories]
    if unknown:
        raise MalformedAnnotation(f"heard categories {unknown} are not in the project")
    # a visible sounding instance is heard by definition: its category is listed even if the box was not ticked
    frame.heard = sorted(set(heard) | {i.category for i in frame.instances if i.sounding})
    frame.scenario = _scenario(chosen_scenario, frame.instances, frame.heard)
    return frame

"""A scripted annotator working through Label Studio's API, that keeps a log of what it did to each frame.

It starts from what the task shows (the prediction), as a person does, and by the frame's place in the batch:
0 accepts it, 1 redraws the first mask smaller (its bottom third erased) and flips the first sounding choice, 2
deletes the last region and adds a small new instance, 3 rejects the frame. Every box region (a detection
without a mask) is painted as a brush mask first: the box shrunk by 10 % on each side. The scenario is kept when
the regions still back it, else the one the regions imply (``avatar_bench.rules``); with nothing sounding and
nothing heard it ticks a heard category and calls the frame off screen. ``lead_time`` is the time it really took.
The log (:class:`Done`) is what the proposal-quality report must find.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avatar_bench import rle as coco_rle
from avatar_bench.rules import scenario_of, scenario_violations
from pipeline.proposals.records import ProposalRecord
from pipeline.report.metrics import box_mask, iou
from pipeline.review import config as C
from pipeline.review.brush import brush_to_coco, mask_to_brush
from pipeline.review.tasks import frame_choice, reject_result

ADDED = "dog"  # the category of the instance the script adds


@dataclass
class Done:
    """What the script did to one frame."""

    frame_id: str
    action: str
    lead_time_s: float = 0.0
    ious: list[float] = field(default_factory=list)  # per proposal instance kept: proposal vs submitted mask
    sounding_kept: int = 0
    added: int = 0
    removed: int = 0
    scenario: str | None = None  # what was submitted
    unchanged: bool = False  # nothing edited, and the task's choices were the proposal's own


def _choice(result: list[dict], name: str) -> list[str]:
    return next((r["value"]["choices"] for r in result if r.get("from_name") == name and r["type"] == "choices"), [])


def _brush(region: str, category: str, mask: np.ndarray, h: int, w: int) -> dict[str, Any]:
    return {"id": region, "type": "brushlabels", "from_name": C.MASK, "to_name": C.IMAGE, "original_width": w,
            "original_height": h, "image_rotation": 0,
            "value": {"format": "rle", "rle": mask_to_brush(mask), "brushlabels": [category]}}


def _sounding(region: str, sounding: bool, h: int, w: int) -> dict[str, Any]:
    return {"id": region, "type": "choices", "from_name": C.SOUNDING, "to_name": C.IMAGE, "original_width": w,
            "original_height": h, "image_rotation": 0,
            "value": {"choices": [C.SOUNDING_YES if sounding else C.SOUNDING_NO]}}


def _shrunk(bbox: list[float], h: int, w: int) -> np.ndarray:
    x, y, bw, bh = bbox
    return box_mask([x + 0.1 * bw, y + 0.1 * bh, 0.8 * bw, 0.8 * bh], h, w)


def annotate(client, task_id: int, data: dict[str, Any], proposal: ProposalRecord, k: int) -> Done:
    """Annotate one task as the script's rules say (see the module docstring); return the log of it."""
    start = time.perf_counter()
    action = ("accept", "redraw+flip", "delete+add", "reject")[k % 4]
    done = Done(frame_id=proposal.frame_id, action=action)
    preds = client.sdk.predictions.list(task=task_id)
    shown = [r for p in preds[:1] for r in p.result]
    if action == "reject":
        done.lead_time_s = time.perf_counter() - start
        client.sdk.annotations.create(id=task_id, result=reject_result(), was_cancelled=False, ground_truth=False,
                                      lead_time=done.lead_time_s)
        return done
    h, w = proposal.height, proposal.width
    by_region = {r["region"]: r["instance_id"] for r in data["regions"]}
    insts = {i.instance_id: i for i in proposal.instances}
    # the regions as the annotator ends up with them: region -> [category, mask, sounding, proposal instance]
    regions: dict[str, list] = {}
    sounding = {r["id"]: C.SOUNDING_YES in r["value"]["choices"] for r in shown if r["from_name"] == C.SOUNDING}
    edited = False
    for r in shown:
        inst = insts.get(by_region.get(r.get("id")))
        if r["type"] == "brushlabels":
            mask = coco_rle.decode(brush_to_coco(r["value"]["rle"], h, w)).astype(bool)
            regions[r["id"]] = [r["value"]["brushlabels"][0], mask, sounding[r["id"]], inst]
        elif r["type"] == "rectanglelabels":  # a box: paint its mask
            regions[f"painted-{r['id']}"] = [r["value"]["rectanglelabels"][0], _shrunk(inst.bbox, h, w),
                                             sounding[r["id"]], inst]
            edited = True
    keys = list(regions)
    if action == "redraw+flip" and keys:
        mask = regions[keys[0]][1].copy()
        rows = np.flatnonzero(mask.any(axis=1))
        mask[rows[len(rows) - len(rows) // 3:]] = False  # the bottom third erased
        regions[keys[0]][1] = mask
        regions[keys[0]][2] = not regions[keys[0]][2]
        edited = True
    if action == "delete+add":
        if keys:
            del regions[keys[-1]]
        square = np.zeros((h, w), bool)
        square[:12, :12] = True
        regions["added"] = [ADDED, square, False, None]
        edited = True
    heard = list(_choice(shown, C.HEARD))
    pairs = [(cat, snd) for cat, _, snd, _ in regions.values()]
    scenario = (_choice(shown, C.SCENARIO) or [None])[0]
    if scenario is None or scenario_violations(scenario, pairs, heard):
        scenario, edited = scenario_of(pairs, heard), edited or scenario is not None
    if scenario is None:  # nothing sounds, nothing heard: an off-screen sound of the clip's kind
        scenario, heard, edited = "off_screen", ["piano"], True
    result = [x for rid, (cat, mask, snd, _) in regions.items() for x in (_brush(rid, cat, mask, h, w),
                                                                           _sounding(rid, snd, h, w))]
    result.append(frame_choice(C.SCENARIO, [scenario]))
    if heard:
        result.append(frame_choice(C.HEARD, heard))
    _log(done, regions, proposal, h, w, scenario)
    done.unchanged = (not edited and scenario == proposal.scenario and data["preselected_scenario"] == scenario
                      and "not preselected" not in data["hint"])
    done.lead_time_s = time.perf_counter() - start
    client.sdk.annotations.create(id=task_id, result=result, was_cancelled=False, ground_truth=False,
                                  lead_time=done.lead_time_s)
    return done


def _log(done: Done, regions: dict[str, list], proposal: ProposalRecord, h: int, w: int, scenario: str) -> None:
    kept = {id(inst): (mask, snd) for _, mask, snd, inst in regions.values() if inst is not None}
    for inst in proposal.instances:
        shown = coco_rle.decode(inst.rle).astype(bool) if inst.rle is not None else box_mask(inst.bbox, h, w)
        if id(inst) not in kept:
            done.removed += 1
            continue
        mask, snd = kept[id(inst)]
        done.ious.append(iou(shown, mask))
        done.sounding_kept += snd == inst.sounding
    done.added = sum(inst is None for *_, inst in regions.values())
    done.scenario = scenario

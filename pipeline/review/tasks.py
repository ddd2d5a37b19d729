"""Proposal records -> Label Studio tasks with pre-annotations (brush masks, sounding, scenario, heard)."""

from __future__ import annotations

import logging
import math
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pipeline.review.config as C
from avatar_bench import rle as coco_rle
from pipeline.errors import Rejected
from pipeline.proposals.records import ProposalRecord
from pipeline.review.brush import coco_to_brush

log = logging.getLogger(__name__)


def local_files_url(image_path: str | Path, root: Path) -> str:
    """``/data/local-files/?d=<path relative to the document root>``; :class:`Rejected` outside the root."""
    path = Path(image_path).resolve()
    try:
        rel = path.relative_to(root)
    except ValueError:
        raise Rejected("outside_document_root", f"{path} is not under LOCAL_FILES_DOCUMENT_ROOT {root}") from None
    return "/data/local-files/?d=" + urllib.parse.quote(rel.as_posix())


def _score(value: float | None) -> float:
    """A finite score for the task JSON (Label Studio's JSON must be strict: no NaN)."""
    return float(value) if value is not None and math.isfinite(value) else 0.0


def _hint(proposal: ProposalRecord, heard: list[str], n_unmasked: int) -> str:
    tags = ", ".join(f"{t.label} {_score(t.score):.2f}" for t in proposal.audio_tags[:3])
    parts = [f"proposed scenario: {proposal.scenario or '?'} ({_score(proposal.scenario_score):.2f})",
             f"heard: {', '.join(heard) or 'nothing'}"]
    if tags:
        parts.append(f"audio tags: {tags}")
    reasons = proposal.flag_reasons
    if proposal.flagged or reasons:
        parts.append(f"FLAGGED: {', '.join(map(str, reasons)) or 'check carefully'}")
    if n_unmasked:
        parts.append(f"{n_unmasked} detection(s) without a mask: draw them if they matter")
    return " · ".join(parts)


def instance_results(inst: Mapping[str, Any], region: str, height: int, width: int) -> list[dict[str, Any]]:
    """Label Studio results of one instance: its brush mask and its per-region sounding choice.

    Args:
        inst: ``{"category", "rle" (COCO RLE), "sounding" (bool), "det_score" (optional)}``.
        region: the region id tying the two results together.
    """
    brush = coco_to_brush(inst["rle"])
    common = {"id": region, "to_name": C.IMAGE, "original_width": width, "original_height": height,
              "image_rotation": 0}
    mask = {**common, "type": "brushlabels", "from_name": C.MASK,
            "value": {"format": "rle", "rle": brush, "brushlabels": [inst["category"]]},
            "score": float(inst.get("det_score") or 0.0)}
    sounding = {**common, "type": "choices", "from_name": C.SOUNDING,
                "value": {"choices": [C.SOUNDING_YES if inst.get("sounding") else C.SOUNDING_NO]}}
    return [mask, sounding]


def frame_choice(name: str, choices: list[str]) -> dict[str, Any]:
    """A per-frame choice result (``scenario``, ``heard`` or ``reject``)."""
    return {"id": name, "type": "choices", "from_name": name, "to_name": C.IMAGE, "value": {"choices": choices}}


def reject_result() -> list[dict[str, Any]]:
    """The result of an annotator rejecting the frame."""
    return [frame_choice(C.REJECT, [C.REJECT_CHOICE])]


def build_task(proposal: ProposalRecord, root: Path, categories: set[str]) -> dict[str, Any]:
    """One Label Studio task (``data`` + ``predictions``) from one proposal record.

    Instances without a mask, of a category the project does not know, or whose mask size differs from the
    frame are left out of the pre-annotation (logged); the frame itself still goes to review. The video's
    metadata stays in the work folder (pull reads it there), not in the task.

    Raises:
        Rejected: the frame lies outside the document root Label Studio serves.
    """
    height, width = proposal.height, proposal.width
    results: list[dict[str, Any]] = []
    regions: list[dict[str, Any]] = []
    n_unmasked = 0
    for k, inst in enumerate(proposal.instances):
        if inst.rle is None:
            n_unmasked += 1
            continue
        problem = coco_rle.is_valid(inst.rle) or (None if list(inst.rle["size"]) == [height, width] else
                                                  f"mask size {inst.rle['size']} differs from the frame's "
                                                  f"[{height}, {width}]")
        if inst.category not in categories or problem:
            log.warning("frame %s: proposal instance %s left out (%s)", proposal.frame_id, inst.instance_id,
                        problem or f"category {inst.category!r} is not in the project")
            continue
        region = f"p{k}"
        results += instance_results(inst.to_dict(), region, height, width)
        regions.append({"region": region, "instance_id": inst.instance_id, "category": inst.category,
                        "track_id": inst.track_id, "det_score": _score(inst.det_score),
                        "sounding_score": _score(inst.sounding_score)})
    heard = [c for c in proposal.heard_categories if c in categories]
    if proposal.scenario:
        results.append(frame_choice(C.SCENARIO, [proposal.scenario]))
    if heard:
        results.append(frame_choice(C.HEARD, heard))
    data = {
        "image": local_files_url(proposal.image_path, root), "frame_id": proposal.frame_id,
        "video_id": proposal.video_id, "frame_index": proposal.frame_index,
        "timestamp_s": round(_score(proposal.timestamp_s), 3), "width": width, "height": height,
        "split": proposal.split or "test", "label": proposal.label or "",
        "hint": _hint(proposal, heard, n_unmasked), "proposed_scenario": proposal.scenario, "regions": regions,
        "image_path": str(Path(proposal.image_path).resolve()),
    }
    task: dict[str, Any] = {"data": data}
    if results:
        task["predictions"] = [{"model_version": proposal.model_version or "proposals", "result": results,
                                "score": _score(proposal.scenario_score)}]
    return task

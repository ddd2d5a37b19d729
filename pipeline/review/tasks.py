"""Proposal records -> Label Studio tasks with pre-annotations (brush masks or boxes, sounding, scenario, heard);
the region and consistency rules are in :mod:`pipeline.review.regions`."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from avatar_bench import rle as coco_rle
from pipeline.errors import Rejected
from pipeline.proposals.records import InstanceProposal, ProposalRecord
from pipeline.review import config as C
from pipeline.review import regions as R

log = logging.getLogger(__name__)
NO_PLAYBACK = "no playback for this frame (its video was not found or not readable)"


def local_files_url(image_path: str | Path, root: Path) -> str:
    """``/data/local-files/?d=<path relative to the document root>``; :class:`Rejected` outside the root."""
    path = Path(image_path).resolve()
    try:
        rel = path.relative_to(root)
    except ValueError:
        raise Rejected("outside_document_root", f"{path} is not under LOCAL_FILES_DOCUMENT_ROOT {root}") from None
    return "/data/local-files/?d=" + urllib.parse.quote(rel.as_posix())


def _hint(proposal: ProposalRecord, proposed: str | None, heard: list[str], notes: list[str]) -> str:
    tags = ", ".join(f"{t.label} {R.finite(t.score):.2f}" for t in proposal.audio_tags[:3])
    parts = [f"proposed scenario: {proposed or 'none'} ({R.finite(proposal.scenario_score):.2f})",
             f"heard: {', '.join(heard) or 'nothing'}"]
    if tags:
        parts.append(f"audio tags: {tags}")
    reasons = proposal.flag_reasons
    if proposal.flagged or reasons:
        parts.append(f"FLAGGED: {', '.join(map(str, reasons)) or 'check carefully'}")
    return " · ".join(parts + notes)


def instance_results(inst: InstanceProposal | Mapping[str, Any], region: str, height: int,
                     width: int) -> list[dict[str, Any]]:
    """Label Studio results of one masked instance: its brush mask and its per-region sounding choice.

    Args:
        inst: an instance proposal, or what an annotator draws: ``{"category", "rle" (COCO RLE), "sounding"
            (bool), "det_score" (optional)}``.
        region: the region id tying the two results together.
    """
    if isinstance(inst, Mapping):
        inst = InstanceProposal(instance_id=0, category=inst["category"], detector_label=inst["category"],
                                det_score=float(inst.get("det_score") or 0.0), bbox=coco_rle.bbox(inst["rle"]),
                                sounding=bool(inst.get("sounding")), rle=inst["rle"])
    return [R.brush_result(inst, region, height, width), R.sounding_result(inst, region, height, width)]


def frame_choice(name: str, choices: list[str]) -> dict[str, Any]:
    """A per-frame choice result (``scenario``, ``heard`` or ``reject``)."""
    return {"id": name, "type": "choices", "from_name": name, "to_name": C.IMAGE, "value": {"choices": choices}}


def reject_result() -> list[dict[str, Any]]:
    """The result of an annotator rejecting the frame."""
    return [frame_choice(C.REJECT, [C.REJECT_CHOICE])]


def build_task(proposal: ProposalRecord, root: Path, categories: Mapping[str, Any] | set[str] | list[str],
               media: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One Label Studio task (``data`` + ``predictions``) from one proposal record, as strict JSON.

    Every detection of a known category becomes a region (brush with a mask, rectangle without); the scenario
    and heard categories are preselected only where those regions back them (:mod:`pipeline.review.regions`).
    The video's metadata stays in the work folder (pull reads it there), not in the task.

    Args:
        categories: the project's category names, in project order (a set sorts them).
        media: the frame's playback fields (``cut``, ``clip``, ``position``: :mod:`pipeline.review.media`).

    Raises:
        Rejected: the frame lies outside the document root Label Studio serves.
    """
    height, width = proposal.height, proposal.width
    names = sorted(categories) if isinstance(categories, set | frozenset) else list(categories)
    known = set(names)
    pred = R.instance_regions(proposal.instances, known, height, width)
    for note in pred.notes:
        log.info("frame %s: %s", proposal.frame_id, note)
    proposed_heard = [c for c in proposal.heard_categories if c in known]
    proposed = proposal.scenario if isinstance(proposal.scenario, str) and proposal.scenario else None
    scenario, heard = R.preselect(pred, proposed, proposed_heard)
    results = list(pred.results)
    if scenario:
        results.append(frame_choice(C.SCENARIO, [scenario]))
    if heard:
        results.append(frame_choice(C.HEARD, heard))
    seen = [str(i.category) for i in proposal.instances]
    colours = R.colours_of(names)
    data = {
        "image": local_files_url(proposal.image_path, root), "frame_id": proposal.frame_id,
        "video_id": proposal.video_id, "frame_index": proposal.frame_index,
        "timestamp_s": round(R.finite(proposal.timestamp_s), 3), "width": width, "height": height,
        "split": proposal.split or "test", "label": proposal.label or "",
        "hint": _hint(proposal, proposed, heard, pred.notes), "proposed_scenario": proposed,
        "preselected_scenario": scenario, "regions": pred.regions,
        "image_path": str(Path(proposal.image_path).resolve()),
        "mask_labels": R.label_options(seen + proposed_heard, names, colours),
        "box_labels": R.label_options(pred.boxes, pred.boxes, colours),
        "heard_options": R.label_options(proposed_heard + seen, names),
        "cut": "", "clip": "", "position": NO_PLAYBACK, **(media or {}),
    }
    task: dict[str, Any] = {"data": data}
    if results:
        task["predictions"] = [{"model_version": proposal.model_version or "proposals", "result": results,
                                "score": R.finite(proposal.scenario_score)}]
    return R.strict_json(task)

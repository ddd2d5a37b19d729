"""Proposals-manifest rows -> Label Studio tasks with pre-annotations (brush masks or boxes, sounding, scenario,
heard); the region and consistency rules are in :mod:`pipeline.review.regions`."""

from __future__ import annotations

import json
import logging
import math
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.errors import Rejected
from pipeline.review import config as C
from pipeline.review import regions as R

log = logging.getLogger(__name__)


def _json_list(value: Any) -> list:
    """Nested manifest values are stored as JSON strings (pipeline.manifest); accept lists too."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return json.loads(value) if value.strip() else []
    return list(value)


def local_files_url(image_path: str | Path, root: Path) -> str:
    """``/data/local-files/?d=<path relative to the document root>``; :class:`Rejected` outside the root."""
    path = Path(image_path).resolve()
    try:
        rel = path.relative_to(root)
    except ValueError:
        raise Rejected("outside_document_root", f"{path} is not under LOCAL_FILES_DOCUMENT_ROOT {root}") from None
    return "/data/local-files/?d=" + urllib.parse.quote(rel.as_posix())


def _hint(row: Mapping[str, Any], proposed: str | None, heard: list[str], notes: list[str]) -> str:
    tags = ", ".join(f"{t.get('label')} {R.finite(t.get('score')):.2f}" for t in _json_list(row.get("audio_tags"))[:3])
    parts = [f"proposed scenario: {proposed or 'none'} ({R.finite(row.get('scenario_score')):.2f})",
             f"heard: {', '.join(heard) or 'nothing'}"]
    if tags:
        parts.append(f"audio tags: {tags}")
    reasons = _json_list(row.get("flag_reasons"))
    if row.get("flagged") or reasons:
        parts.append(f"FLAGGED: {', '.join(map(str, reasons)) or 'check carefully'}")
    return " · ".join(parts + notes)


def instance_results(inst: Mapping[str, Any], region: str, height: int, width: int) -> list[dict[str, Any]]:
    """Label Studio results of one masked instance: its brush mask and its per-region sounding choice.

    Args:
        inst: ``{"category", "rle" (COCO RLE), "sounding" (bool), "det_score" (optional)}``.
        region: the region id tying the two results together.
    """
    return [R.brush_result(inst, region, height, width), R.sounding_result(inst, region, height, width)]


def frame_choice(name: str, choices: list[str]) -> dict[str, Any]:
    """A per-frame choice result (``scenario``, ``heard`` or ``reject``)."""
    return {"id": name, "type": "choices", "from_name": name, "to_name": C.IMAGE, "value": {"choices": choices}}


def reject_result() -> list[dict[str, Any]]:
    """The result of an annotator rejecting the frame."""
    return [frame_choice(C.REJECT, [C.REJECT_CHOICE])]


def build_task(row: Mapping[str, Any], root: Path, categories: Mapping[str, Any] | set[str],
               video: Mapping[str, Any] | None = None, media: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One Label Studio task (``data`` + ``predictions``) from one proposals row, as strict JSON.

    Every detection of a known category becomes a region (brush with a mask, rectangle without); the scenario
    and heard categories are preselected only where those regions back them (:mod:`pipeline.review.regions`).

    Args:
        categories: the project's category names, in project order (a set sorts them).
        media: the frame's playback fields (``cut``, ``clip``, ``position``: :mod:`pipeline.review.media`).

    Raises:
        Rejected: the frame lies outside the document root Label Studio serves.
    """
    height, width = int(row["height"]), int(row["width"])
    names = sorted(categories) if isinstance(categories, set | frozenset) else list(categories)
    instances = _json_list(row.get("instances"))
    pred = R.instance_regions(instances, categories, height, width)
    for note in pred.notes:
        log.info("frame %s: %s", row["frame_id"], note)
    proposed_heard = [c for c in _json_list(row.get("heard_categories")) if c in categories]
    proposed = row.get("scenario") if isinstance(row.get("scenario"), str) and row.get("scenario") else None
    scenario, heard = R.preselect(pred, proposed, proposed_heard)
    results = list(pred.results)
    if scenario:
        results.append(frame_choice(C.SCENARIO, [scenario]))
    if heard:
        results.append(frame_choice(C.HEARD, heard))
    seen = [str(i.get("category")) for i in instances]
    colours = R.colours_of(names)
    data = {
        "image": local_files_url(row["image_path"], root), "frame_id": str(row["frame_id"]),
        "video_id": str(row["video_id"]), "frame_index": int(row["frame_index"]),
        "timestamp_s": round(R.finite(row.get("timestamp_s")), 3), "width": width, "height": height,
        "split": str(row.get("split") or "test"), "label": str(row.get("label") or ""),
        "hint": _hint(row, proposed, heard, pred.notes), "proposed_scenario": proposed,
        "preselected_scenario": scenario, "regions": pred.regions,
        "image_path": str(Path(row["image_path"]).resolve()), "video": dict(video or {}),
        "mask_labels": R.label_options(seen + proposed_heard, names, colours),
        "box_labels": R.label_options(pred.boxes, pred.boxes, colours),
        "heard_options": R.label_options(proposed_heard + seen, names),
        "cut": "", "clip": "", "position": "no playback for this frame (its video was not found or not readable)",
        **(media or {}),
    }
    task: dict[str, Any] = {"data": data}
    if results:
        task["predictions"] = [{"model_version": str(row.get("model_version") or "proposals"), "result": results,
                                "score": R.finite(row.get("scenario_score"))}]
    return R.strict_json(task)

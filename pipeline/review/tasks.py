"""Proposals (contract 4 rows) -> Label Studio tasks with pre-annotations (brush masks, sounding, scenario, heard)."""

from __future__ import annotations

import json
import logging
import math
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from avatar_bench import rle as coco_rle
from pipeline.errors import Rejected
from pipeline.review import config as C
from pipeline.review.brush import coco_to_brush

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


def _hint(row: Mapping[str, Any], heard: list[str], n_unmasked: int) -> str:
    tags = ", ".join(f"{t.get('label')} {float(t.get('score', 0)):.2f}" for t in _json_list(row.get("audio_tags"))[:3])
    parts = [f"proposed scenario: {row.get('scenario') or '?'} ({float(row.get('scenario_score') or 0):.2f})",
             f"heard: {', '.join(heard) or 'nothing'}"]
    if tags:
        parts.append(f"audio tags: {tags}")
    reasons = _json_list(row.get("flag_reasons"))
    if row.get("flagged") or reasons:
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


def build_task(row: Mapping[str, Any], root: Path, categories: set[str],
               video: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One Label Studio task (``data`` + ``predictions``) from one proposals row.

    Instances without a mask, of a category the project does not know, or whose mask size differs from the
    frame are left out of the pre-annotation (logged); the frame itself still goes to review.

    Raises:
        Rejected: the frame lies outside the document root Label Studio serves.
    """
    height, width = int(row["height"]), int(row["width"])
    results: list[dict[str, Any]] = []
    regions: list[dict[str, Any]] = []
    n_unmasked = 0
    for k, inst in enumerate(_json_list(row.get("instances"))):
        category, rle = inst.get("category"), inst.get("rle")
        if rle is None:
            n_unmasked += 1
            continue
        problem = coco_rle.is_valid(rle) or (None if list(rle["size"]) == [height, width] else
                                             f"mask size {rle['size']} differs from the frame's [{height}, {width}]")
        if category not in categories or problem:
            log.warning("frame %s: proposal instance %s left out (%s)", row["frame_id"], inst.get("instance_id"),
                        problem or f"category {category!r} is not in the project")
            continue
        region = f"p{k}"
        results += instance_results(inst, region, height, width)
        regions.append({"region": region, "instance_id": inst.get("instance_id"), "category": category,
                        "track_id": inst.get("track_id"), "det_score": inst.get("det_score"),
                        "sounding_score": inst.get("sounding_score")})
    heard = [c for c in _json_list(row.get("heard_categories")) if c in categories]
    scenario = row.get("scenario")
    if scenario:
        results.append(frame_choice(C.SCENARIO, [scenario]))
    if heard:
        results.append(frame_choice(C.HEARD, heard))
    data = {
        "image": local_files_url(row["image_path"], root), "frame_id": str(row["frame_id"]),
        "video_id": str(row["video_id"]), "frame_index": int(row["frame_index"]),
        "timestamp_s": round(float(row.get("timestamp_s") or 0.0), 3), "width": width, "height": height,
        "split": str(row.get("split") or "test"), "label": str(row.get("label") or ""),
        "hint": _hint(row, heard, n_unmasked), "proposed_scenario": scenario, "regions": regions,
        "image_path": str(Path(row["image_path"]).resolve()), "video": dict(video or {}),
    }
    task: dict[str, Any] = {"data": data}
    if results:
        score = row.get("scenario_score")
        task["predictions"] = [{"model_version": str(row.get("model_version") or "proposals"), "result": results,
                                "score": float(score) if score is not None and score == score else 0.0}]
    return task

"""Pull verified annotations from Label Studio into AVATAR-COCO split files, idempotently.

Reads the project's JSON export (brush RLE kept exactly; the COCO export drops brush masks), takes the latest
annotation of each task and compares its version (``<annotation id>@<updated_at>``) with
``<work>/manifests/review.parquet``: unchanged frames are skipped, so pulling twice changes nothing, and an
annotation edited after a pull is picked up by the next one. Kept frames are merged into ``<out>/{split}.json``
with ``origin: "human"``; frames the annotator rejected (or whose annotation was deleted) are removed from them.
A malformed annotation is reported with its task id and skipped; every other frame is still merged.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.manifest import STATUS_OK, STATUS_REJECTED, Manifest
from pipeline.review.client import LabelStudioClient
from pipeline.review.config import ReviewConfig, load_categories
from pipeline.review.convert import (
    STATUS_SKIPPED,
    MalformedAnnotation,
    ReviewedFrame,
    annotation_version,
    convert_task,
    latest_annotation,
)
from pipeline.review.merge import SplitStore

log = logging.getLogger(__name__)


def _find_project(client: LabelStudioClient, title: str) -> int:
    project_id = client.find_project(title)
    if project_id is None:
        raise PipelineError(f"Label Studio at {client.url}: no project titled {title!r}; push a batch first")
    return project_id


def _key(data: dict[str, Any]) -> str:
    return f"{data.get('video_id')}/{int(data.get('frame_index', -1))}"


def _row(frame: ReviewedFrame, status: str, reason: str, detail: str = "") -> dict[str, Any]:
    return {"frame_id": frame.frame_id, "task_id": frame.task_id, "annotation_id": frame.annotation_id,
            "version": frame.version, "annotator": frame.annotator, "updated_at": frame.updated_at,
            "status": status, "reason": reason, "detail": detail, "scenario": frame.scenario,
            "n_instances": len(frame.instances), "split": str(frame.data.get("split") or "")}


class _Merge:
    """One pull: compares each exported task with what was pulled before and merges what changed."""

    def __init__(self, store: SplitStore, seen: dict[str, dict[str, Any]], names: set[str], users: dict[int, str]):
        self.store, self.seen, self.names, self.users = store, seen, names, users
        self.summary: dict[str, Any] = {"annotated": 0, "merged": 0, "rejected": 0, "skipped": 0, "unchanged": 0,
                                        "removed": 0, "malformed": []}
        self.rows: list[dict[str, Any]] = []
        self.present: set[str] = set()

    def task(self, task: dict[str, Any]) -> None:
        ann, data = latest_annotation(task), task.get("data") or {}
        if ann is None or "frame_id" not in data:
            return
        self.summary["annotated"] += 1
        fid = str(data["frame_id"])
        self.present.add(fid)
        before = self.seen.get(fid)
        version = annotation_version(ann)
        if before and before["version"] == version and (before["status"] != STATUS_OK or self.store.find(_key(data))):
            self.summary["unchanged"] += 1  # same annotation version, and its frame is still in the files
            return
        try:
            frame = convert_task(task, self.names, self.users)
        except MalformedAnnotation as exc:
            log.warning("task %s (frame %s): malformed annotation skipped: %s", task.get("id"), fid, exc)
            self.summary["malformed"].append({"task_id": int(task["id"]), "frame_id": fid, "error": str(exc)})
            self.rows.append({"frame_id": fid, "task_id": int(task["id"]), "annotation_id": int(ann["id"]),
                              "version": version, "status": STATUS_REJECTED, "reason": "malformed",
                              "detail": str(exc)})
            return
        if frame.status == STATUS_OK:
            self.store.upsert(frame)
            self.summary["merged"] += 1
            self.rows.append(_row(frame, STATUS_OK, ""))
        else:
            self.summary["rejected" if frame.status != STATUS_SKIPPED else "skipped"] += 1
            self.summary["removed"] += self.store.remove(_key(data))
            self.rows.append(_row(frame, STATUS_REJECTED, f"{frame.status}_by_annotator"))

    def deleted(self) -> None:
        """Frames pulled before whose annotation has since been deleted in Label Studio leave the files."""
        for fid, before in self.seen.items():
            if fid not in self.present and before["status"] == STATUS_OK:
                video_id, index = fid.rsplit("/", 1)
                self.summary["removed"] += self.store.remove(f"{video_id}/{int(index)}")
                self.rows.append({**before, "status": STATUS_REJECTED, "reason": "annotation_deleted"})


def pull(work_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, config: ReviewConfig | None = None,
         client: LabelStudioClient | None = None) -> dict[str, Any]:
    """Merge the project's new or edited annotations into the split files.

    Args:
        work_dir: the batch's work dir (its ``manifests/review.parquet`` remembers what was pulled).
        out_dir: folder of the AVATAR-COCO split files (default ``<work>/annotations``).
        config: review settings (project title, categories).
        client: an open client (default: from ``pipeline.settings``).

    Returns:
        ``{"project_id", "annotated", "merged", "rejected", "skipped", "unchanged", "removed", "malformed": [...],
        "written": [paths]}``; ``malformed`` lists ``{"task_id", "frame_id", "error"}``.
    """
    work_dir, config = Path(work_dir), config or ReviewConfig()
    out_dir = Path(out_dir) if out_dir else work_dir / "annotations"
    categories = config.categories or load_categories()
    client = client or LabelStudioClient.from_settings(timeout_s=config.timeout_s)
    project_id = _find_project(client, config.project)
    exported, users = client.export_json(project_id), client.user_emails()
    manifest = Manifest(work_dir / "manifests", "review", key="frame_id")
    seen = {r["frame_id"]: r for r in manifest.read().to_dict("records")} if manifest.exists() else {}
    merge = _Merge(SplitStore(out_dir, categories), seen, {c.name for c in categories}, users)
    for task in exported:
        merge.task(task)
    merge.deleted()
    summary = {"project_id": project_id, **merge.summary, "written": [str(p) for p in merge.store.save()]}
    if merge.rows:  # after the split files: a crash in between only makes the next pull redo these frames
        with manifest:
            manifest.extend(merge.rows)
    log.info("pulled project %r: %d merged, %d rejected, %d skipped, %d unchanged, %d malformed", config.project,
             summary["merged"], summary["rejected"], summary["skipped"], summary["unchanged"],
             len(summary["malformed"]))
    return summary

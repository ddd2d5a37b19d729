"""Pull verified annotations from Label Studio into AVATAR-COCO split files, idempotently.

Reads the project's JSON export (brush RLE kept exactly; the COCO export drops brush masks), takes the latest
annotation of each task and compares its version (``<annotation id>@<updated_at>``) with the work folder's
``review`` table (:class:`~pipeline.records.PullRecord`): unchanged frames are skipped, so pulling twice changes
nothing, and an annotation edited after a pull is picked up by the next one. Kept frames are merged into
``<out>/{split}.json`` with ``origin: "human"``; frames the annotator rejected (or whose annotation was deleted)
are removed from them.
A malformed annotation is reported with its task id and skipped; every other frame is still merged. The videos'
metadata (file, size, fps, duration, source) comes from the work folder's ``videos`` and ``probe`` tables.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from avatar_bench import naming
from pipeline.errors import PipelineError
from pipeline.layout import WorkDir
from pipeline.records import STATUS_OK, STATUS_REJECTED, PullRecord
from pipeline.review.client import LabelStudioClient
from pipeline.review.config import ReviewConfig
from pipeline.review.convert import (
    MalformedAnnotation,
    ReviewedFrame,
    annotation_version,
    convert_task,
    latest_annotation,
)
from pipeline.review.merge import SplitStore, VideoMeta
from pipeline.stats import StageStats

log = logging.getLogger(__name__)


def _find_project(client: LabelStudioClient, title: str) -> int:
    project_id = client.find_project(title)
    if project_id is None:
        raise PipelineError(f"Label Studio at {client.url}: no project titled {title!r}; push a batch first")
    return project_id


def video_metadata(work: WorkDir) -> dict[str, VideoMeta]:
    """Each prepared video's metadata for the AVATAR-COCO ``videos`` records (empty without prepare's tables)."""
    videos = {v.video_id: v for v in work.records("videos", required=False)}
    out = {}
    for p in work.records("probe", STATUS_OK, required=False):
        v = videos.get(p.video_id)
        out[p.video_id] = VideoMeta(file_name=Path(v.path).name if v and v.path else "", width=p.width,
                                    height=p.height, fps=p.fps, duration_s=p.duration_s, source=v.source if v else "")
    return out


def _record(frame: ReviewedFrame, status: str, reason: str, out_dir: Path) -> PullRecord:
    lead = frame.lead_time_s
    return PullRecord(frame_id=frame.frame_id, task_id=frame.task_id, annotation_id=frame.annotation_id,
                      version=frame.version, annotator=frame.annotator, updated_at=frame.updated_at, status=status,
                      reason=reason, scenario=frame.scenario, n_instances=len(frame.instances),
                      split=str(frame.data.get("split") or ""),
                      lead_time_s=float(lead) if isinstance(lead, int | float) else None, out_dir=str(out_dir))


class _Merge:
    """One pull: compares each exported task with what was pulled before and merges what changed."""

    def __init__(self, store: SplitStore, seen: dict[str, PullRecord], names: set[str], users: dict[int, str],
                 videos: dict[str, VideoMeta]):
        self.store, self.seen, self.names, self.users, self.videos = store, seen, names, users, videos
        self.out_dir = store.dir.resolve()
        self.stats = StageStats(stage="pull", unit="frame", headline="{merged} merged",
                                info={"malformed": [], "written": []})
        self.records: list[PullRecord] = []
        self.present: set[str] = set()

    def task(self, task: dict[str, Any]) -> None:
        ann, data = latest_annotation(task), task.get("data") or {}
        if ann is None or "frame_id" not in data:
            return
        self.stats.count("annotated")
        fid = str(data["frame_id"])
        self.present.add(fid)
        before = self.seen.get(fid)
        version = annotation_version(ann)
        if before and before.version == version and (before.status != STATUS_OK or self.store.find(fid)):
            self.stats.skipped += 1  # same annotation version, and its frame is still in the files
            return
        self.stats.processed += 1
        try:
            frame = convert_task(task, self.names, self.users)
        except MalformedAnnotation as exc:
            log.warning("task %s (frame %s): malformed annotation skipped: %s", task.get("id"), fid, exc)
            self.stats.reject("malformed")
            self.stats.info["malformed"].append({"task_id": int(task["id"]), "frame_id": fid, "error": str(exc)})
            self.records.append(PullRecord(frame_id=fid, task_id=int(task["id"]), annotation_id=int(ann["id"]),
                                           version=version, status=STATUS_REJECTED, reason="malformed",
                                           detail=str(exc)))
            return
        if frame.status == STATUS_OK:
            self.store.upsert(frame, self.videos.get(str(data.get("video_id"))))
            self.stats.count("merged")
            self.records.append(_record(frame, STATUS_OK, "", self.out_dir))
        else:
            reason = f"{frame.status}_by_annotator"  # rejected_by_annotator | skipped_by_annotator
            self.stats.reject(reason)
            self.stats.count("removed", int(self.store.remove(fid)))
            self.records.append(_record(frame, STATUS_REJECTED, reason, self.out_dir))

    def deleted(self) -> None:
        """Frames pulled before whose annotation has since been deleted in Label Studio leave the files."""
        for fid, before in self.seen.items():
            if fid not in self.present and before.status == STATUS_OK:
                self.stats.count("removed", int(self.store.remove(naming.frame_id(*naming.parse_frame_id(fid)))))
                self.stats.reject("annotation_deleted")
                self.records.append(replace(before, status=STATUS_REJECTED, reason="annotation_deleted"))


def pull(work_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, config: ReviewConfig | None = None,
         client: LabelStudioClient | None = None) -> StageStats:
    """Merge the project's new or edited annotations into the split files.

    Args:
        work_dir: the batch's work folder (its ``review`` table remembers what was pulled).
        out_dir: folder of the AVATAR-COCO split files (default ``<work>/annotations``).
        config: review settings (project title, categories).
        client: an open client (default: from ``pipeline.settings``).

    Returns:
        The stage's statistics: ``processed`` annotations converted now, ``skipped`` unchanged since the last
        pull, ``rejected`` per reason (``rejected_by_annotator``, ``skipped_by_annotator``, ``malformed``,
        ``annotation_deleted``), counts ``annotated``, ``merged``, ``removed``; info ``project_id``,
        ``malformed`` (``[{"task_id", "frame_id", "error"}]``) and ``written`` (paths).
    """
    work, config = WorkDir(work_dir), config or ReviewConfig()
    out_dir = Path(out_dir) if out_dir else work.annotations
    categories = config.category_list()
    client = client or LabelStudioClient.from_settings(timeout_s=config.timeout_s)
    project_id = _find_project(client, config.project)
    exported, users = client.export_json(project_id), client.user_emails()
    manifest = work.manifest("review")
    seen = {r.frame_id: r for r in manifest.records()} if manifest.exists() else {}
    merge = _Merge(SplitStore(out_dir, categories), seen, {c.name for c in categories}, users, video_metadata(work))
    for task in exported:
        merge.task(task)
    merge.deleted()
    stats = merge.stats
    stats.info.update(project_id=project_id, written=[str(p) for p in merge.store.save()])
    if merge.records:  # after the split files: a crash in between only makes the next pull redo these frames
        with manifest:
            manifest.extend(merge.records)
    stats.kept = len(manifest.records(STATUS_OK)) if manifest.exists() else 0
    log.info("pulled project %r: %d merged, %d unchanged, %d rejected %s", config.project, stats.counts["merged"],
             stats.skipped, stats.n_rejected, dict(stats.rejected) or "")
    return stats

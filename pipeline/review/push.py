"""Push the proposals of a work dir to Label Studio as tasks with pre-annotations, without duplicates.

Reads ``<work>/manifests/proposals.parquet`` (the proposals manifest), creates or finds the project (by title) and a
local-files storage for the frames, looks up the tasks the project already holds (by ``data.frame_id``) and
imports only the missing frames, ``chunk_size`` tasks per request. Writes ``<work>/manifests/review_push.parquet``
(key ``frame_id``: task_id, project_id, status, reason). A push interrupted by Label Studio going down raises
:class:`PipelineError`; the rerun imports only what is still missing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError, Rejected
from pipeline.manifest import STATUS_OK, STATUS_REJECTED, Manifest
from pipeline.review.client import LabelStudioClient
from pipeline.review.config import ReviewConfig, labeling_config, load_categories
from pipeline.review.media import MEDIA_DIR, task_media
from pipeline.review.tasks import build_task

log = logging.getLogger(__name__)


def read_proposals(work_dir: Path) -> list[dict[str, Any]]:
    """The kept rows of the proposals manifest, as dicts, in frame_id order."""
    manifest = Manifest(Path(work_dir) / "manifests", "proposals", key="frame_id")
    if not manifest.exists():
        raise PipelineError(f"{manifest.path}: no proposals manifest; run `avatar-pipeline propose` first")
    df = manifest.read()
    if "status" in df.columns:
        df = df[df["status"] == STATUS_OK]
    missing = {"frame_id", "video_id", "image_path", "width", "height", "frame_index"} - set(df.columns)
    if missing:
        raise PipelineError(f"{manifest.path}: expected the proposals-manifest columns, missing {sorted(missing)}")
    return df.sort_values("frame_id").to_dict("records")


def video_metadata(work_dir: Path) -> dict[str, dict[str, Any]]:
    """Per-video fields for the AVATAR-COCO ``videos`` records, from the part-1 manifests when present."""
    out: dict[str, dict[str, Any]] = {}
    mdir = Path(work_dir) / "manifests"
    for name, cols in (("videos", ("path", "source")), ("probe", ("width", "height", "fps", "duration_s"))):
        m = Manifest(mdir, name, key="video_id")
        if not m.exists():
            continue
        df = m.read()
        for row in df.to_dict("records"):
            meta = out.setdefault(str(row["video_id"]), {})
            for col in cols:
                value = row.get(col)
                if value is not None and value == value:  # NaN != NaN
                    meta["file_name" if col == "path" else col] = Path(value).name if col == "path" else value
    return out


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), max(1, size)):
        yield items[i:i + size]


def _storage_dir(rows: list[dict[str, Any]], root: Path, media: Path | None = None) -> Path:
    """The folder the local-files storage must cover: the common parent of the frames (and of the playback
    media when given), under the root."""
    folders = [str(Path(r["image_path"]).resolve().parent) for r in rows] + ([str(media.resolve())] if media else [])
    common = Path(os.path.commonpath(folders))
    return common if common.is_relative_to(root) else root


def push(work_dir: str | os.PathLike, config: ReviewConfig | None = None, client: LabelStudioClient | None = None,
         progress: bool = False, dry_run: str | os.PathLike | None = None) -> dict[str, Any]:
    """Send the work dir's proposals to Label Studio (idempotent).

    Args:
        work_dir: the batch's work dir (holds ``manifests/proposals.parquet``).
        config: review settings (project title, categories, document root, chunk size).
        client: an open client (default: from ``pipeline.settings``).
        progress: show a tqdm bar.
        dry_run: a JSON file: write there every task a push to an empty project would send (the same tasks,
            built by the same code, strict JSON) and contact no server.

    Returns:
        ``{"project_id", "project", "frames", "pushed", "already", "rejected", "reasons"}`` (``dry_run``: the
        file, and ``project_id`` None).

    Raises:
        PipelineError: no proposals manifest, Label Studio unreachable, or a refused request.
    """
    work_dir, config = Path(work_dir), config or ReviewConfig()
    categories = config.categories or load_categories()
    rows = read_proposals(work_dir)
    if dry_run is not None:
        return dry_run_push(work_dir, rows, config, categories, Path(dry_run))
    client = client or LabelStudioClient.from_settings(timeout_s=config.timeout_s)
    project_id = client.ensure_project(config.project, labeling_config(categories, config.template),
                                       labeling_config(categories, config.template, static=True))
    summary: dict[str, Any] = {"project_id": project_id, "project": config.project, "frames": len(rows),
                               "pushed": 0, "already": 0, "rejected": 0, "reasons": {}}
    if not rows:
        return summary
    root = config.root(work_dir)
    client.ensure_local_storage(project_id, _storage_dir(rows, root, work_dir / MEDIA_DIR if config.playback else None))
    existing = client.existing_tasks(project_id)
    build = _builder(work_dir, [r for r in rows if str(r["frame_id"]) not in existing], root, config, categories)
    with Manifest(work_dir / "manifests", "review_push", key="frame_id") as manifest:
        todo = _plan(rows, existing, manifest, summary, build)
        bar = _bar(len(todo), progress)
        for chunk in _chunks(todo, config.chunk_size):
            ids = client.import_tasks(project_id, [task for _, task in chunk])
            for (base, _), task_id in zip(chunk, ids, strict=False):
                manifest.append({**base, "task_id": task_id, "status": STATUS_OK, "reason": ""})
            manifest.flush()  # what Label Studio holds is on disk before the next request
            summary["pushed"] += len(chunk)
            bar.update(len(chunk))
        bar.close()
    log.info("pushed %d task(s) to project %r (%d already there, %d rejected)", summary["pushed"], config.project,
             summary["already"], summary["rejected"])
    return summary


def _builder(work_dir: Path, rows: list[dict[str, Any]], root: Path, config: ReviewConfig, categories: list):
    """``build(row) -> task`` for these rows, with their playback media made first (once: reruns reuse them)."""
    videos, names = video_metadata(work_dir), dict.fromkeys(c.name for c in categories)
    media = task_media(work_dir, rows, root, videos, config.cut_s) if config.playback and rows else {}
    return lambda row: build_task(row, root, names, videos.get(str(row["video_id"])), media.get(str(row["frame_id"])))


def dry_run_push(work_dir: Path, rows: list[dict[str, Any]], config: ReviewConfig, categories: list,
                 out: Path) -> dict[str, Any]:
    """Write the tasks a push to an empty project would import (strict JSON), without a server."""
    import json

    from avatar_bench.io import atomic_write_text

    root = config.root(work_dir)
    labeling_config(categories, config.template)  # the template must be usable, as for a real push
    build = _builder(work_dir, rows, root, config, categories)
    summary: dict[str, Any] = {"project_id": None, "project": config.project, "frames": len(rows), "pushed": 0,
                               "already": 0, "rejected": 0, "reasons": {}, "dry_run": str(out)}
    tasks = []
    for row in rows:
        try:
            tasks.append(build(row))
        except Rejected as exc:
            _count_rejected(summary, exc.reason)
            log.warning("frame %s would not be pushed: %s", row["frame_id"], exc)
    atomic_write_text(out, json.dumps(tasks, allow_nan=False, ensure_ascii=False, indent=1) + "\n")
    summary["tasks"] = len(tasks)
    log.info("dry run: %d task(s) written to %s (%d rejected); no server contacted", len(tasks), out,
             summary["rejected"])
    return summary


def _plan(rows: list[dict[str, Any]], existing: dict[str, int], manifest: Manifest, summary: dict[str, Any],
          build) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Tasks still to import (``(manifest row base, task)``); frames already in the project or rejected are
    recorded in the manifest and counted, not sent."""
    todo = []
    for row in rows:
        fid = str(row["frame_id"])
        base = {"frame_id": fid, "project_id": summary["project_id"], "project": summary["project"]}
        if fid in existing:
            summary["already"] += 1
            manifest.append({**base, "task_id": existing[fid], "status": STATUS_OK, "reason": ""})
            continue
        try:
            todo.append((base, build(row)))
        except Rejected as exc:
            _count_rejected(summary, exc.reason)
            log.warning("frame %s not pushed: %s", fid, exc)
            manifest.append({**base, "task_id": -1, "status": STATUS_REJECTED, "reason": exc.reason})
    return todo


def _count_rejected(summary: dict[str, Any], reason: str) -> None:
    summary["rejected"] += 1
    summary["reasons"][reason] = summary["reasons"].get(reason, 0) + 1


def _bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="task", desc="push", disable=not enabled)

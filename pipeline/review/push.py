"""Push the proposals of a work dir to Label Studio as tasks with pre-annotations, without duplicates.

Reads the work folder's kept proposals (:class:`~pipeline.proposals.records.ProposalRecord`), creates or finds the
project (by title) and a local-files storage for the frames, looks up the tasks the project already holds (by
``data.frame_id``) and imports only the missing frames, ``chunk_size`` tasks per request. Writes the work folder's
``review_push`` table (:class:`~pipeline.records.PushRecord`, key ``frame_id``: task_id, project_id, status,
reason). A push interrupted by Label Studio going down raises :class:`PipelineError`; the rerun imports only what
is still missing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import Rejected
from pipeline.layout import WorkDir
from pipeline.manifest import Manifest
from pipeline.progress import bar
from pipeline.proposals.records import ProposalRecord
from pipeline.records import STATUS_OK, PushRecord
from pipeline.review.client import LabelStudioClient
from pipeline.review.config import ReviewConfig, labeling_config
from pipeline.review.tasks import build_task
from pipeline.stats import StageStats

log = logging.getLogger(__name__)


def read_proposals(work_dir: str | os.PathLike) -> list[ProposalRecord]:
    """The kept proposals of the work folder, in frame_id order (PipelineError: none made yet)."""
    return sorted(WorkDir(work_dir).records("proposals", STATUS_OK), key=lambda r: r.frame_id)


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), max(1, size)):
        yield items[i:i + size]


def _storage_dir(proposals: list[ProposalRecord], root: Path) -> Path:
    """The folder the local-files storage must cover: the common parent of the frames, under the root."""
    common = Path(os.path.commonpath([str(Path(p.image_path).resolve().parent) for p in proposals]))
    return common if common.is_relative_to(root) else root


def push(work_dir: str | os.PathLike, config: ReviewConfig | None = None, client: LabelStudioClient | None = None,
         progress: bool = False) -> StageStats:
    """Send the work folder's proposals to Label Studio (idempotent).

    Args:
        work_dir: the batch's work folder (holds its proposals).
        config: review settings (project title, categories, document root, chunk size).
        client: an open client (default: from ``pipeline.settings``).
        progress: show a progress bar (on a terminal).

    Returns:
        The stage's statistics: ``processed`` tasks pushed now, ``skipped`` frames already in the project,
        ``rejected`` per reason, counts ``frames``; info ``project_id``, ``project``.

    Raises:
        PipelineError: no proposals yet, Label Studio unreachable, or a refused request.
    """
    work, config = WorkDir(work_dir), config or ReviewConfig()
    categories = config.category_list()
    proposals = read_proposals(work.root)
    client = client or LabelStudioClient.from_settings(timeout_s=config.timeout_s)
    project_id = client.ensure_project(config.project, labeling_config(categories, config.template))
    stats = StageStats(stage="push", unit="task", headline="{processed} new + {skipped} already",
                       info={"project_id": project_id, "project": config.project})
    stats.counts["frames"] = len(proposals)
    if not proposals:
        return stats
    root = config.root(work.root)
    client.ensure_local_storage(project_id, _storage_dir(proposals, root))
    existing = client.existing_tasks(project_id)
    names = {c.name for c in categories}
    with work.manifest("review_push") as manifest:
        todo = _plan(proposals, existing, manifest, stats, lambda p: build_task(p, root, names))
        with bar(total=len(todo), unit="task", desc="push", enabled=progress) as pbar:
            for chunk in _chunks(todo, config.chunk_size):
                ids = client.import_tasks(project_id, [task for _, task in chunk])
                for (record, _), task_id in zip(chunk, ids, strict=False):
                    record.task_id = task_id
                    manifest.append(record)
                manifest.flush()  # what Label Studio holds is on disk before the next request
                stats.processed += len(chunk)
                stats.keep(len(chunk))
                pbar.update(len(chunk))
    log.info("pushed %d task(s) to project %r (%d already there, %d rejected)", stats.processed, config.project,
             stats.skipped, stats.n_rejected)
    return stats


def _plan(proposals: list[ProposalRecord], existing: dict[str, int], manifest: Manifest, stats: StageStats,
          build) -> list[tuple[PushRecord, dict[str, Any]]]:
    """Tasks still to import (``(push record, task)``); frames already in the project or rejected are recorded
    in the manifest and counted, not sent."""
    todo = []
    project_id, project = stats.info["project_id"], stats.info["project"]
    for proposal in proposals:
        fid = proposal.frame_id
        record = PushRecord(frame_id=fid, project_id=project_id, project=project)
        if fid in existing:
            stats.skipped += 1
            stats.keep()
            record.task_id = existing[fid]
            manifest.append(record)
            continue
        try:
            todo.append((record, build(proposal)))
        except Rejected as exc:
            stats.reject(exc.reason)
            log.warning("frame %s not pushed: %s", fid, exc)
            record.reject(exc.reason, exc.detail)
            manifest.append(record)
    return todo

"""Push the proposals of a work dir to Label Studio as tasks with pre-annotations, without duplicates.

Reads the work folder's kept proposals (:class:`~pipeline.proposals.records.ProposalRecord`), creates or finds the
project (by title) and a local-files storage for the frames and their playback media, looks up the tasks the
project already holds (by ``data.frame_id``) and imports only the missing frames, ``chunk_size`` tasks per
request. Writes the work folder's ``review_push`` table (:class:`~pipeline.records.PushRecord`, key ``frame_id``:
task_id, project_id, status, reason). A push interrupted by Label Studio going down raises :class:`PipelineError`;
the rerun imports only what is still missing. ``dry_run`` writes the tasks to a file instead (no server).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from avatar_bench.io import atomic_write_text
from pipeline.errors import Rejected
from pipeline.layout import WorkDir
from pipeline.manifest import Manifest
from pipeline.progress import bar
from pipeline.proposals.records import ProposalRecord
from pipeline.records import STATUS_OK, PushRecord
from pipeline.review.client import LabelStudioClient
from pipeline.review.config import ReviewConfig, labeling_config
from pipeline.review.media import task_media
from pipeline.review.tasks import build_task
from pipeline.stats import StageStats

log = logging.getLogger(__name__)
Build = Callable[[ProposalRecord], dict[str, Any]]


def read_proposals(work_dir: str | os.PathLike) -> list[ProposalRecord]:
    """The kept proposals of the work folder, in frame_id order (PipelineError: none made yet)."""
    return sorted(WorkDir(work_dir).records("proposals", STATUS_OK), key=lambda r: r.frame_id)


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), max(1, size)):
        yield items[i:i + size]


def _storage_dir(proposals: list[ProposalRecord], root: Path, media: Path | None = None) -> Path:
    """The folder the local-files storage must cover: the common parent of the frames (and of the playback
    media when given), under the root."""
    folders = [str(Path(p.image_path).resolve().parent) for p in proposals] + ([str(media)] if media else [])
    common = Path(os.path.commonpath(folders))
    return common if common.is_relative_to(root) else root


def push(work_dir: str | os.PathLike, config: ReviewConfig | None = None, client: LabelStudioClient | None = None,
         progress: bool = False, dry_run: str | os.PathLike | None = None) -> StageStats:
    """Send the work folder's proposals to Label Studio (idempotent).

    Args:
        work_dir: the batch's work folder (holds its proposals).
        config: review settings (project title, categories, document root, chunk size, playback).
        client: an open client (default: from ``pipeline.settings``).
        progress: show a progress bar (on a terminal).
        dry_run: a JSON file: write there every task a push to an empty project would send (the same tasks,
            built by the same code, strict JSON) and contact no server.

    Returns:
        The stage's statistics: ``processed`` tasks pushed now, ``skipped`` frames already in the project,
        ``rejected`` per reason, counts ``frames`` (and ``tasks`` written by a dry run); info ``project_id``,
        ``project`` (``dry_run``: the file, and ``project_id`` None).

    Raises:
        PipelineError: no proposals yet, Label Studio unreachable, or a refused request.
    """
    work, config = WorkDir(work_dir), config or ReviewConfig()
    categories = config.category_list()
    proposals = read_proposals(work.root)
    if dry_run is not None:
        return dry_run_push(work, proposals, config, categories, Path(dry_run))
    client = client or LabelStudioClient.from_settings(timeout_s=config.timeout_s)
    project_id = client.ensure_project(config.project, labeling_config(categories, config.template),
                                       labeling_config(categories, config.template, static=True))
    stats = _stats(config, project_id, len(proposals))
    if not proposals:
        return stats
    root = config.root(work.root)
    client.ensure_local_storage(project_id, _storage_dir(proposals, root, work.review_media if config.playback
                                                         else None))
    existing = client.existing_tasks(project_id)
    before = {r.frame_id: r for r in work.records("review_push", required=False)}
    replaced = [p for p in proposals if p.frame_id in existing and _replaced(before.get(p.frame_id), p)]
    build = _builder(work, [p for p in proposals if p.frame_id not in existing] + replaced, root, config, categories)
    with work.manifest("review_push") as manifest:
        todo = _plan(proposals, existing, before, manifest, stats, build)
        if replaced:
            _update(client, project_id, replaced, existing, manifest, stats, build)
        _import(client, project_id, todo, manifest, stats, config.chunk_size, progress)
    log.info("pushed %d task(s) to project %r (%d already there, %d rejected)", stats.processed, config.project,
             stats.skipped, stats.n_rejected)
    return stats


def _import(client: LabelStudioClient, project_id: int, todo: list[tuple[PushRecord, dict[str, Any]]],
            manifest: Manifest, stats: StageStats, chunk_size: int, progress: bool) -> None:
    """Import the new tasks, ``chunk_size`` per request, recording each one's task id as soon as it exists."""
    with bar(total=len(todo), unit="task", desc="push", enabled=progress) as pbar:
        for chunk in _chunks(todo, chunk_size):
            ids = client.import_tasks(project_id, [task for _, task in chunk])
            for (record, _), task_id in zip(chunk, ids, strict=False):
                record.task_id = task_id
                manifest.append(record)
            manifest.flush()  # what Label Studio holds is on disk before the next request
            stats.processed += len(chunk)
            stats.keep(len(chunk))
            pbar.update(len(chunk))


def _replaced(pushed: PushRecord | None, proposal: ProposalRecord) -> bool:
    """The frame's task shows another proposal than the work folder now holds (``propose --redo-pushed``)."""
    return pushed is not None and pushed.ok and bool(pushed.proposal) and pushed.proposal != proposal.digest()


def _update(client: LabelStudioClient, project_id: int, replaced: list[ProposalRecord], existing: dict[str, int],
            manifest: Manifest, stats: StageStats, build: Build) -> None:
    """Replace the pre-annotation of the tasks whose frame was proposed again, unless someone started them."""
    started = client.started_tasks(project_id)
    for proposal in replaced:
        task_id = existing[proposal.frame_id]
        if task_id in started:  # an annotator's work is never overwritten; the report leaves this frame out
            stats.count("kept_started")
            log.warning("frame %s: task %d is annotated already: it keeps the proposal it was pushed with",
                        proposal.frame_id, task_id)
            continue
        try:
            client.replace_task(task_id, build(proposal))
        except Rejected as exc:
            log.warning("frame %s: its new proposal cannot be sent (%s): the task keeps the earlier one",
                        proposal.frame_id, exc)
            continue
        manifest.append(PushRecord(frame_id=proposal.frame_id, project_id=stats.info["project_id"],
                                   project=stats.info["project"], task_id=task_id, proposal=proposal.digest()))
        stats.count("updated")
    manifest.flush()


def _stats(config: ReviewConfig, project_id: int | None, n_frames: int) -> StageStats:
    stats = StageStats(stage="push", unit="task", headline="{processed} new + {skipped} already",
                       info={"project_id": project_id, "project": config.project})
    stats.counts["frames"] = n_frames
    return stats


def _builder(work: WorkDir, proposals: list[ProposalRecord], root: Path, config: ReviewConfig,
             categories: list) -> Build:
    """``build(proposal) -> task`` for these proposals, with their playback media made first (once: reruns reuse
    them)."""
    names = [c.name for c in categories]
    media = task_media(work, proposals, root, config.cut_s) if config.playback and proposals else {}
    return lambda p: build_task(p, root, names, media.get(p.frame_id))


def dry_run_push(work: WorkDir, proposals: list[ProposalRecord], config: ReviewConfig, categories: list,
                 out: Path) -> StageStats:
    """Write the tasks a push to an empty project would import (strict JSON), without a server."""
    root = config.root(work.root)
    labeling_config(categories, config.template)  # the template must be usable, as for a real push
    build = _builder(work, proposals, root, config, categories)
    stats = _stats(config, None, len(proposals))
    stats.info["dry_run"] = str(out)
    tasks = []
    for proposal in proposals:
        try:
            tasks.append(build(proposal))
        except Rejected as exc:
            stats.reject(exc.reason)
            log.warning("frame %s would not be pushed: %s", proposal.frame_id, exc)
    atomic_write_text(out, json.dumps(tasks, allow_nan=False, ensure_ascii=False, indent=1) + "\n")
    stats.counts["tasks"] = len(tasks)
    log.info("dry run: %d task(s) written to %s (%d rejected); no server contacted", len(tasks), out,
             stats.n_rejected)
    return stats


def _plan(proposals: list[ProposalRecord], existing: dict[str, int], before: dict[str, PushRecord],
          manifest: Manifest, stats: StageStats, build: Build) -> list[tuple[PushRecord, dict[str, Any]]]:
    """Tasks still to import (``(push record, task)``); frames already in the project or rejected are recorded
    in the manifest and counted, not sent (a frame's record keeps the digest of the proposal its task shows)."""
    todo = []
    project_id, project = stats.info["project_id"], stats.info["project"]
    for proposal in proposals:
        fid = proposal.frame_id
        record = PushRecord(frame_id=fid, project_id=project_id, project=project, proposal=proposal.digest())
        if fid in existing:
            stats.skipped += 1
            stats.keep()
            earlier = before.get(fid)
            record.task_id, record.proposal = existing[fid], earlier.proposal if earlier and earlier.ok else ""
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

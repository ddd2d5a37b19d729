"""``prepare(source, work_dir, config)``: sources → probe/filter → audio activity → frame choice.

Writes the work folder's preparation tables (see :mod:`pipeline.layout`): ``videos``, ``probe``, ``activity``,
``selection`` (one row per video that reached frame choice: it marks the video finished) and ``frames``; the
clips of CSV sources under ``videos/``, the chosen frames under ``frames/``; and ``prepare_summary.json``
(:class:`~pipeline.stats.StageStats`).

Before any work: the source is checked (readable), the settings are checked (types, ranges, the URL template),
the work folder must be writable and free (one run at a time: ``.lock``); leftovers of killed runs (download
folders, half-written files) are removed, and settings that changed since the last run reset the work they
affect (:mod:`pipeline.prepare_state`).

Resumable: manifests are flushed together every ``checkpoint_every`` videos, in stage order (probe, activity,
frames, then selection), each part file atomically; a killed run loses at most the videos since the last
checkpoint. A rerun skips source records already listed (except transient failures such as a failed download,
which are tried again), videos already finished (selection row, or rejected by probe or activity) and reuses
the probe/activity rows of half-done videos.

Chunked (the Prefect flows, :mod:`pipeline.chunks`): :func:`plan_prepare` (sources listed, under the lock) cuts
the videos left into chunks, :func:`prepare_chunk` processes one chunk wherever the work folder is visible (CSV
clips are downloaded there) and writes its rows as part files, :func:`finish_prepare` (under the lock again)
merges the tables and writes the summary. :func:`prepare` is the same steps in one process (``workers``: its
process pool).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.activity import ActivityConfig
from pipeline.chunks import Chunk, make_chunks, require_visible
from pipeline.config import StrictConfig, require
from pipeline.frames import FrameConfig
from pipeline.layout import PREPARE_STAGES, WorkDir
from pipeline.manifest import Manifest, reason_counts
from pipeline.prepare_state import REFUSED_DOWNLOADS, reconcile
from pipeline.probe import ProbeConfig, ProbeFilter
from pipeline.records import STATUS_OK, ActivityRecord, ProbeRecord, VideoRecord
from pipeline.sources import check_source, iter_source
from pipeline.sources.vggsound import RETRYABLE, DownloadConfig, fetch_clips
from pipeline.stats import StageStats
from pipeline.video_stages import VideoOutcome
from pipeline.workers import run_videos

log = logging.getLogger(__name__)

_NEVER = 10**12  # manifests flush only at our checkpoints (stage order matters for resume)
# Source rejections a rerun does not try again: the CSV row itself is bad, or the site refused the video.
PERMANENT = frozenset({"malformed_row", "bad_id", "bad_split", "duplicate_id", *REFUSED_DOWNLOADS}) - RETRYABLE


@dataclass(slots=True, kw_only=True)
class PrepareConfig(StrictConfig):
    """All settings of ``prepare`` (every threshold of the stages is a field of a sub-config)."""

    probe: ProbeConfig = field(default_factory=ProbeConfig)
    activity: ActivityConfig = field(default_factory=ActivityConfig)
    frames: FrameConfig = field(default_factory=FrameConfig)
    download: DownloadConfig = field(default_factory=DownloadConfig)
    workers: int = 1  # processes for probe/activity/frames (0: one per CPU core)
    checkpoint_every: int = 20  # videos between manifest checkpoints
    checkpoint_seconds: float = 30.0  # ... or this many seconds

    def validate(self) -> None:
        require(self.workers >= 0, "workers", "0 (one per core) or more", self.workers)
        require(self.checkpoint_every >= 1, "checkpoint_every", "at least 1", self.checkpoint_every)
        require(self.checkpoint_seconds > 0, "checkpoint_seconds", "a positive time", self.checkpoint_seconds)


class _Manifests:
    """Stage manifests (default: all five), flushed together in stage order."""

    def __init__(self, work: WorkDir, stages: tuple[str, ...] = PREPARE_STAGES):
        self.stages = stages
        self.m: dict[str, Manifest] = {name: work.manifest(name, flush_every=_NEVER, flush_seconds=_NEVER)
                                       for name in stages}
        self.last = time.monotonic()
        self.since = 0

    def __getitem__(self, name: str) -> Manifest:
        return self.m[name]

    def tick(self, config: PrepareConfig) -> None:
        self.since += 1
        if self.since >= config.checkpoint_every or time.monotonic() - self.last > config.checkpoint_seconds:
            self.checkpoint()

    def checkpoint(self) -> None:
        for name in self.stages:
            self.m[name].flush()
        self.last, self.since = time.monotonic(), 0

    def finalize(self) -> dict[str, Any]:
        self.checkpoint()
        return {name: self.m[name].finalize() for name in self.stages}  # an empty stage keeps its columns


@dataclass(slots=True)
class PreparePlan:
    """What a prepare run has left to do, decided under the work folder's lock (:func:`plan_prepare`)."""

    source: str
    config: PrepareConfig
    todo: list[VideoRecord]  # ok source videos not finished yet
    probes: dict[str, ProbeRecord]  # probe rows of half-done videos (not probed again)
    activities: dict[str, ActivityRecord]
    fetch: list[VideoRecord] = field(default_factory=list)  # CSV rows whose clips the chunks download
    counts: dict[str, int] = field(default_factory=dict)  # new_source_records, leftovers_removed
    reset: list[str] = field(default_factory=list)  # what changed settings made stale (prepare_state)
    started: float = field(default_factory=time.monotonic)

    def chunks(self, size: int) -> list[Chunk[VideoRecord]]:
        """The videos left (clips to download included), ``size`` per chunk, each with the probe/activity rows of
        its half-done videos."""
        chunks = make_chunks(self.fetch + self.todo, size)
        for chunk in chunks:
            ids = [v.video_id for v in chunk.items]
            chunk.context = {"probes": {i: self.probes[i] for i in ids if i in self.probes},
                             "activities": {i: self.activities[i] for i in ids if i in self.activities}}
        return chunks


def prepare(source: str, work_dir: str | os.PathLike, config: PrepareConfig | None = None, *,
            progress: bool = False, redo: Iterable[str] = ()) -> StageStats:
    """Run every preparation stage over a source; resumable.

    Args:
        source: ``csv:FILE`` | ``dir:DIR`` | ``glob:PATTERN`` | ``synth:DIR`` (or a bare path).
        work_dir: the work folder (created).
        config: settings; defaults follow the paper.
        progress: show progress bars (only on a terminal).
        redo: stages to redo for every video (``download``, ``probe``, ``activity``, ``frames``).

    Returns:
        The run's statistics, also written to ``<work_dir>/prepare_summary.json``.

    Raises:
        PipelineError: a bad source, bad settings, an unwritable or busy work folder (before any work).
    """
    config = config or PrepareConfig()
    check_source(source)
    work = WorkDir(work_dir)
    with work.lock("avatar-pipeline prepare"):
        plan = plan_prepare(source, work, config, progress=progress, redo=redo)
        run = process_videos(work, plan.todo, plan.probes, plan.activities, config, progress)
        return finish_prepare(work, plan, run)


def plan_prepare(source: str, work: WorkDir, config: PrepareConfig, *, progress: bool = False,
                 redo: Iterable[str] = (), fetch: bool = True) -> PreparePlan:
    """Sweep leftovers, reset what changed settings made stale, run the source stage (listing, and downloads
    unless ``fetch`` is false: then the chunks download) and find the videos left. The caller holds the lock."""
    started = time.monotonic()
    removed = work.sweep_leftovers()
    reset = reconcile(work, config, redo)
    later: list[VideoRecord] = []
    n_new = _source_stage(source, work, config, _Manifests(work, ("videos",)), progress, None if fetch else later)
    todo, probes, activities = _pending(_Manifests(work))
    log.info("%d videos to process, %d clips to download (%d listed)", len(todo), len(later),
             len(work.manifest("videos").done_ids()))
    return PreparePlan(source, config, todo, probes, activities, later, reset=reset, started=started,
                       counts={"new_source_records": n_new, "leftovers_removed": removed})


def process_videos(work: WorkDir, videos: list[VideoRecord], probes: dict[str, ProbeRecord],
                   activities: dict[str, ActivityRecord], config: PrepareConfig,
                   progress: bool = False) -> StageStats:
    """Run the per-video chain (with ``config.workers`` processes) and write the videos' rows as part files, in
    stage order, every ``checkpoint_every`` videos. Return this run's counts: ``processed``, the videos it kept
    and rejected (per reason), ``frames``, and the probe filter's verdicts (``parts["filter"]``)."""
    manifests = _Manifests(work, PREPARE_STAGES[1:])  # probe, activity, frames, selection: not the source rows
    probe_filter = ProbeFilter(config.probe)  # one per run: its counts cover every video it judged
    run = StageStats(stage="prepare", unit="video", headline="{kept} videos, {frames} frames", processed=len(videos))
    try:
        for outcome in run_videos(videos, probes, activities, config, str(work.frames), progress, probe_filter):
            _record(outcome, manifests)
            if outcome.final_reason:
                run.reject(outcome.final_reason)
            else:
                run.keep()
            run.count("frames", len(outcome.frames))
            manifests.tick(config)
    finally:
        manifests.checkpoint()  # rows already processed are kept, even on an error
    run.parts["filter"] = probe_filter.stats
    return run


def prepare_chunk(work_dir: str | os.PathLike, chunk: Chunk[VideoRecord], config: PrepareConfig) -> StageStats:
    """Process one chunk of a :class:`PreparePlan` (in any process that sees the work folder); see
    :func:`process_videos` for what it writes and returns (``seconds``: this chunk's time).

    Raises:
        PipelineError: the work folder is not visible here.
    """
    started = time.monotonic()
    work = WorkDir(work_dir)
    require_visible(work, f"prepare chunk {chunk.name}")
    videos, fetched = [v for v in chunk.items if v.path], StageStats(stage="sources", unit="video")
    if len(videos) < len(chunk):  # its CSV rows: download first, their source rows written before any later row
        manifest = work.manifest("videos", flush_every=_NEVER, flush_seconds=_NEVER)
        try:
            for record in fetch_clips([v for v in chunk.items if not v.path], work.videos, config.download):
                manifest.append(record)
                if record.ok:
                    videos.append(record)
                    fetched.count("downloaded")
                else:
                    fetched.reject(record.reason)
        finally:
            manifest.flush()  # a part file only: merging is the planner's (finish_prepare)
    run = process_videos(work, videos, chunk.context.get("probes", {}), chunk.context.get("activities", {}), config)
    run.merge(fetched)
    run.processed += fetched.n_rejected
    run.seconds = time.monotonic() - started
    return run


def finish_prepare(work: WorkDir, plan: PreparePlan, run: StageStats) -> StageStats:
    """Merge every table's parts (atomic replace), delete JPEGs no kept frame points to, write the summary.
    ``run``: the counts of every video of the plan (one :func:`process_videos`, or the chunks' merged). The
    caller holds ``work.lock``."""
    tables = _Manifests(work).finalize()
    frames = tables["frames"]
    work.remove_frames_except(set(frames.loc[frames["status"] == STATUS_OK, "image_path"]) if len(frames) else set())
    stats = summarize(tables)
    stats.parts["filter"] = run.parts.get("filter") or StageStats(stage="probe", unit="video")
    processed = len(plan.todo) + run.counts["downloaded"]  # downloaded by the chunks, then processed
    stats.processed, stats.skipped = processed, stats.counts["videos_ok"] - processed
    stats.counts.update(plan.counts)
    stats.seconds = time.monotonic() - plan.started
    stats.info.update(source=plan.source, work_dir=str(work.root), config=plan.config.to_dict(), reset=plan.reset)
    work.write_summary(stats)
    return stats


def _source_stage(source: str, work: WorkDir, config: PrepareConfig, manifests: _Manifests, progress: bool,
                  later: list[VideoRecord] | None = None) -> int:
    """List (and download) the source's records not listed yet; with ``later``, CSV rows to download go there."""
    from pipeline.progress import bar

    videos = manifests["videos"]
    listed = videos.records()
    skip = {r.video_id for r in listed if r.ok or r.reason in PERMANENT}
    retry = len(listed) - len(skip)
    if retry:
        log.info("%d source record(s) that failed before (e.g. a download) are tried again", retry)
    n = 0
    with bar(desc="sources", unit="video", enabled=progress) as pbar:
        for record in iter_source(source, work.videos, config.download, skip, fetch=later is None):
            if later is not None and record.ok and not record.path:
                later.append(record)
            else:
                videos.append(record)
            n += 1
            pbar.update()
            manifests.tick(config)
    videos.flush()
    return n


def _pending(manifests: _Manifests) -> tuple[list[VideoRecord], dict[str, ProbeRecord], dict[str, ActivityRecord]]:
    """Ok source videos not finished yet, with the probe/activity records of half-done ones."""
    probes = {r.video_id: r for r in manifests["probe"].records()}
    activities = {r.video_id: r for r in manifests["activity"].records()}
    finished = manifests["selection"].done_ids()
    finished |= {v for v, r in probes.items() if not r.ok} | {v for v, r in activities.items() if not r.ok}
    todo = [r for r in manifests["videos"].records(STATUS_OK) if r.video_id not in finished]
    return todo, probes, activities


def _record(outcome: VideoOutcome, manifests: _Manifests) -> None:
    if outcome.probe is not None:
        manifests["probe"].append(outcome.probe)
    if outcome.activity is not None:
        manifests["activity"].append(outcome.activity)
    manifests["frames"].extend(outcome.frames)
    if outcome.selection is not None:
        manifests["selection"].append(outcome.selection)


def summarize(tables: dict[str, Any]) -> StageStats:
    """The batch's counts from its tables: each stage (kept, rejected per reason) and each video's final fate."""
    stats = StageStats(stage="prepare", unit="video", headline="{kept} videos, {frames} frames")
    for name, df in tables.items():
        ok = int((df["status"] == STATUS_OK).sum()) if len(df) else 0
        part = StageStats(stage=name, unit="frame" if name == "frames" else "video", kept=ok)
        part.rejected.update(reason_counts(df))
        stats.parts[name] = part
    for name in ("videos", "probe", "activity", "selection"):
        stats.rejected.update(stats.parts[name].rejected)
    stats.rejected = type(stats.rejected)(dict(stats.rejected.most_common()))
    stats.kept = stats.parts["selection"].kept
    stats.counts.update(videos=len(tables["videos"]), videos_ok=stats.parts["videos"].kept,
                        frames=stats.parts["frames"].kept)
    return stats

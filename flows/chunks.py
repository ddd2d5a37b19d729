"""Fan a stage out over its chunks and watch it: ``.map`` on the flow's task runner, a log line per finished
chunk in the flow run's log, a progress artifact, the merged counts; the GPU concurrency limit.

The chunks' rows reach the stage tables as part files; the flow merges them afterwards, under the work
folder's lock (:mod:`pipeline.chunks`). A chunk that fails does not stop the others: the flow finishes every
chunk it can, then fails naming the chunks that did not finish, and a rerun plans only what is missing.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import as_completed
from prefect.utilities.annotations import unmapped

from flows.common import artifact_key
from pipeline.chunks import Chunk
from pipeline.errors import PipelineError
from pipeline.stats import StageStats

# A worker that dies holding a GPU slot gives it back when its lease runs out (renewed while the chunk runs).
GPU_LEASE_S = 60.0


class ChunksFailed(RuntimeError):
    """Some chunks of a stage did not finish (a worker died, a bug); the others' rows are kept."""


def _first_line(exc: BaseException) -> str:
    """The exception's first sentence (Dask's KilledWorker goes on for five)."""
    text = str(exc).strip().splitlines()
    line = text[0].split(". ")[0] if text else ""
    return f"{type(exc).__name__}: {line[:300]}"


def worker_name() -> str:
    """Where this code runs: the Dask worker's name, else ``host:pid/thread``."""
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}/{threading.current_thread().name}"


def run_chunks(stage: str, batch: str, chunk_task: Any, chunks: list[Chunk], *args: Any) -> StageStats:
    """Map ``chunk_task(chunk, *args)`` over ``chunks`` and merge the chunks' :class:`StageStats`.

    Each chunk's stats carry ``info["worker"]``; the merged stats count the records per worker (breakdown
    ``worker``) and the chunks (``counts["chunks"]``).

    Raises:
        ChunksFailed: some chunks failed (after every other chunk has finished), naming them and why.
    """
    logger = get_run_logger()
    unit_total = sum(len(c) for c in chunks)
    merged = StageStats(stage=stage)
    if not chunks:
        logger.info("%s of batch %s: nothing left to do", stage, batch)
        return merged
    logger.info("%s of batch %s: %d chunk(s), %d record(s)", stage, batch, len(chunks), unit_total)
    progress = create_progress_artifact(0.0, key=artifact_key(stage, "progress", batch),
                                        description=f"{stage} of batch {batch}: records done, in %")
    futures = chunk_task.map(chunks, *(unmapped(a) for a in args))
    by_run = {f.task_run_id: c for f, c in zip(futures, chunks, strict=True)}
    done, failed = 0, []
    for future in as_completed(futures):
        chunk = by_run[future.task_run_id]
        try:
            result: StageStats = future.result()
        except Exception as exc:  # noqa: BLE001 - one lost chunk (a dead worker) must not hide the others
            failed.append(f"chunk {chunk.name} ({len(chunk)} records): {_first_line(exc)}")
            logger.error("%s chunk %s did not finish: %s", stage, chunk.name, _first_line(exc))
            continue
        worker = result.info.pop("worker", "?")
        if not merged.counts["chunks"]:  # the stage's unit and headline ("{kept} videos, {frames} frames")
            merged.unit, merged.headline = result.unit, result.headline
        merged.merge(result)
        merged.tally("worker", worker, result.processed)
        merged.count("chunks")
        done += result.processed
        logger.info("%s chunk %s done on %s: %s", stage, chunk.name, worker, chunk_line(result, done, unit_total))
        update_progress_artifact(progress, 100.0 * done / unit_total if unit_total else 100.0)
    if failed:
        raise ChunksFailed(f"{stage} of batch {batch}: {len(failed)} of {len(chunks)} chunk(s) did not finish "
                            f"({'; '.join(failed[:3])}{'; ...' if len(failed) > 3 else ''}); the rows of the "
                            "others are kept: run the flow again to do the rest")
    return merged


def chunk_line(stats: StageStats, done: int, total: int) -> str:
    """``2 videos, 6 frames kept, 1 rejected (too_small: 1) of 3 videos; 4.1 s; 6/40 videos done (15 %)``."""
    unit = stats.unit
    rejected = f"{stats.n_rejected} rejected ({stats.reasons_text()})" if stats.rejected else "0 rejected"
    pct = 100.0 * done / total if total else 100.0
    return (f"{stats.headline_text()} kept, {rejected} of {stats.processed} {unit}s; {stats.seconds:.1f} s; "
            f"{done}/{total} {unit}s done ({pct:.0f} %)")


def chunks_markdown(run: StageStats) -> str:
    """The chunks of one stage run: how many, and the records each worker did (the spread over the cluster)."""
    if not run.counts["chunks"]:
        return "**Chunks**: none this run (nothing left to do).\n"
    workers = run.breakdown.get("worker", {})
    lines = [f"**Chunks**: {run.counts['chunks']} this run, {run.processed} {run.unit}s, {run.seconds:.1f} s of chunk "
             f"time on {len(workers)} worker(s).", "", f"| worker | {run.unit}s |", "|---|---|"]
    lines += [f"| {name} | {n} |" for name, n in sorted(workers.items())]
    if run.info.get("gpu_slots"):
        lines += ["", f"**GPU slots**: {len(run.info['gpu_slots'])} chunk(s) held one; at most "
                      f"{most_at_once(run.info['gpu_slots'])} at once."]
    return "\n".join(lines) + "\n"


def most_at_once(spans: list[list[float]]) -> int:
    """The largest number of ``[start, end]`` spans that overlap (a span ending as another starts does not)."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def stage_report(batch: str, stats: StageStats, run: StageStats) -> str:
    """A stage flow's markdown artifact: the stage's summary (its parts and distributions), then its chunks."""
    return stats.to_markdown(f"{stats.stage} of batch `{batch}`") + "\n" + chunks_markdown(run)


def ensure_limit(name: str) -> None:
    """Make sure the global concurrency limit ``name`` exists and limits: create it with one slot if missing.

    Raises:
        PipelineError: it exists but is inactive (Prefect would not limit at all) or has no slot (nothing
            would ever run).
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    if not name:
        raise PipelineError("gpu_limit: expected the name of a global concurrency limit, got an empty name")
    logger = get_run_logger()
    with get_client(sync_client=True) as client:
        try:
            limit = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
                logger.warning("global concurrency limit %r did not exist: created with 1 slot (one GPU stage at a "
                               "time); set it to the number of GPUs: prefect gcl update %s --limit N", name, name)
            except ObjectAlreadyExists:  # another flow created it meanwhile
                pass
            limit = client.read_global_concurrency_limit_by_name(name)
    if not limit.active:
        raise PipelineError(f"global concurrency limit {name!r} is inactive, so GPU stages would run unlimited; "
                            f"activate it (prefect gcl enable {name}) or name another limit")
    if limit.limit < 1:
        raise PipelineError(f"global concurrency limit {name!r} has {limit.limit} slots: no GPU stage could ever "
                            f"start; give it one slot per GPU (prefect gcl update {name} --limit N)")
    logger.info("GPU stage limited by global concurrency limit %r: %d slot(s)", name, limit.limit)

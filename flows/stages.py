"""``avatar-prepare`` and ``avatar-propose``: the part-1 and part-2 stages of one batch, cached and resumable."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.concurrency.sync import concurrency

from flows.common import GPU_LIMIT, STAGE_CACHE, artifact_key, batch_dir, make_task_runner, report, source_fingerprint


@task(name="prepare", cache_policy=STAGE_CACHE, persist_result=True)
def prepare_task(source: str, work_dir: str, config: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    """Part 1 (sources, probe/filter, activity, frames); ``fingerprint`` only keys the cache."""
    from pipeline.prepare import PrepareConfig, prepare

    return prepare(source, work_dir, PrepareConfig.from_dict(config))


@task(name="propose", cache_policy=STAGE_CACHE, persist_result=True, tags=["gpu"])
def propose_task(work_dir: str, config: dict[str, Any], frames_version: str) -> dict[str, Any]:
    """Part 2 (detector, tagger, segmenter, scenario rules); one GPU stage at a time per limit slot."""
    from pipeline.proposals.propose import propose

    with concurrency(GPU_LIMIT, occupy=1):
        return propose(work_dir, config)


def _done(path) -> bool:
    return path.exists()


@flow(name="avatar-prepare", log_prints=True)
def prepare_flow(source: str, batch: str = "default", config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Prepare the videos of ``source`` into ``<work>/batches/<batch>``."""
    work = batch_dir(batch)
    redo = not _done(work / "prepare_summary.json")  # output gone: the cache must not answer
    summary = prepare_task.with_options(refresh_cache=redo)(source, str(work), config or {},
                                                            source_fingerprint(source))
    create_markdown_artifact(report(batch, {"prepare": summary}, None), key=artifact_key("prepare", batch))
    return summary


@flow(name="avatar-propose", log_prints=True)
def propose_flow(batch: str = "default", config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Propose sounding-instance masks for the batch's frames (``config``: ProposeConfig fields)."""
    work = batch_dir(batch)
    frames = work / "manifests" / "frames.parquet"
    version = str(frames.stat().st_mtime_ns) if frames.exists() else "absent"  # new frames: a new cache key
    redo = not _done(work / "manifests" / "proposals.parquet")
    summary = propose_task.with_options(refresh_cache=redo)(str(work), config or {}, version)
    create_markdown_artifact(report(batch, {"propose": summary}, None), key=artifact_key("propose", batch))
    return summary


def with_runner(flow_obj, task_runner: str):
    """The same flow on another task runner (``thread``, ``dask``, ``dask:ADDRESS``)."""
    return flow_obj.with_options(task_runner=make_task_runner(task_runner))

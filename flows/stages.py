"""``avatar-prepare`` and ``avatar-propose``: the part-1 and part-2 stages of one batch, cached and resumable."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.concurrency.sync import concurrency

from flows.common import GPU_LIMIT, STAGE_CACHE, artifact_key, batch_work, make_task_runner, report, source_fingerprint
from pipeline.stats import StageStats


@task(name="prepare", cache_policy=STAGE_CACHE, persist_result=True)
def prepare_task(source: str, work_dir: str, config: dict[str, Any], fingerprint: str) -> StageStats:
    """Part 1 (sources, probe/filter, activity, frames); ``fingerprint`` only keys the cache."""
    from pipeline.config import load_config
    from pipeline.prepare import PrepareConfig, prepare

    return prepare(source, work_dir, load_config(PrepareConfig, base=config))


@task(name="propose", cache_policy=STAGE_CACHE, persist_result=True, tags=["gpu"])
def propose_task(work_dir: str, config: dict[str, Any], frames_version: str) -> StageStats:
    """Part 2 (detector, tagger, segmenter, scenario rules); one GPU stage at a time per limit slot."""
    from pipeline.config import load_config
    from pipeline.proposals.config import ProposeConfig
    from pipeline.proposals.propose import propose

    settings = load_config(ProposeConfig, base=config)  # refused here, before the GPU slot is taken
    with concurrency(GPU_LIMIT, occupy=1):
        return propose(work_dir, settings)


@flow(name="avatar-prepare", log_prints=True)
def prepare_flow(source: str, batch: str = "default", config: dict[str, Any] | None = None) -> StageStats:
    """Prepare the videos of ``source`` into ``<work>/batches/<batch>``."""
    work = batch_work(batch)
    redo = not work.summary_path("prepare").exists()  # output gone: the cache must not answer
    stats = prepare_task.with_options(refresh_cache=redo)(source, str(work.root), config or {},
                                                          source_fingerprint(source))
    create_markdown_artifact(report(batch, {"prepare": stats}, None), key=artifact_key("prepare", batch))
    return stats


@flow(name="avatar-propose", log_prints=True)
def propose_flow(batch: str = "default", config: dict[str, Any] | None = None) -> StageStats:
    """Propose sounding-instance masks for the batch's frames (``config``: ProposeConfig fields)."""
    work = batch_work(batch)
    frames = work.table("frames")
    version = str(frames.stat().st_mtime_ns) if frames.exists() else "absent"  # new frames: a new cache key
    redo = not work.table("proposals").exists()
    stats = propose_task.with_options(refresh_cache=redo)(str(work.root), config or {}, version)
    create_markdown_artifact(report(batch, {"propose": stats}, None), key=artifact_key("propose", batch))
    return stats


def with_runner(flow_obj, task_runner: str):
    """The same flow on another task runner (``thread``, ``dask``, ``dask:ADDRESS``)."""
    return flow_obj.with_options(task_runner=make_task_runner(task_runner))

"""``avatar-prepare`` and ``avatar-propose``: the part-1 and part-2 stages of one batch, chunk by chunk.

Each flow plans under the batch's lock (in the flow's own process), maps the chunks on the flow's task runner
(threads here, or Dask workers on other machines: :func:`flows.common.make_task_runner`), then merges the
chunks' part files into the stage tables and writes the summary (:mod:`pipeline.chunks`).

    python -m flows.stages prepare --source synth:data/synth --batch b1 --task-runner dask:tcp://10.0.0.5:8786
    python -m flows.stages propose --batch b1 --models no-weights
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import concurrency

from flows import params
from flows.chunks import GPU_LEASE_S, ensure_limit, run_chunks, stage_report, worker_name
from flows.common import GPU_LIMIT, artifact_key, batch_work, make_task_runner, run_cli
from flows.params import ChunkSize, PrepareSettings, Preset, ProposeSettings
from pipeline.sources import check_source
from pipeline.stats import StageStats

# The manifests are the source of truth: a chunk is never cached (its rows could be gone), a plan reads what is done.


@task(name="prepare-plan", cache_policy=NO_CACHE)
def plan_prepare_task(source: str, work_dir: str, config):
    """Sources listed (the chunks download CSV clips), staleness, and the videos left (under the lock)."""
    from pipeline.layout import WorkDir
    from pipeline.prepare import plan_prepare
    from pipeline.sources import check_source

    check_source(source)
    return plan_prepare(source, WorkDir(work_dir), config, fetch=False)  # the chunks download the clips


@task(name="prepare-chunk", cache_policy=NO_CACHE, task_run_name="prepare-chunk-{chunk.index}")
def prepare_chunk_task(chunk, work_dir: str, config) -> StageStats:
    """Probe, activity and frame choice of one chunk of videos, wherever the task runner puts it."""
    from dataclasses import replace

    from pipeline.prepare import prepare_chunk

    if config.workers != 1 and multiprocessing.current_process().daemon:
        config = replace(config, workers=1)  # a Dask worker process may not start a pool of its own
    stats = prepare_chunk(work_dir, chunk, config)
    stats.info["worker"] = worker_name()
    return stats


@task(name="prepare-finish", cache_policy=NO_CACHE)
def finish_prepare_task(work_dir: str, plan, run: StageStats) -> StageStats:
    from pipeline.layout import WorkDir
    from pipeline.prepare import finish_prepare

    return finish_prepare(WorkDir(work_dir), plan, run)


@task(name="propose-plan", cache_policy=NO_CACHE)
def plan_propose_task(work_dir: str, config, pushed: str | None = None):
    from pipeline.layout import WorkDir
    from pipeline.proposals.propose import plan_proposals

    return plan_proposals(WorkDir(work_dir), config, pushed=pushed)


@task(name="propose-chunk", cache_policy=NO_CACHE, tags=["gpu"], task_run_name="propose-chunk-{chunk.index}")
def propose_chunk_task(chunk, work_dir: str, config, gpu_limit: str | None) -> StageStats:
    """Proposals for one chunk of frames; on a GPU, inside one slot of the ``gpu_limit`` concurrency limit."""
    from pipeline.proposals.propose import propose_chunk

    if not gpu_limit:
        stats = propose_chunk(work_dir, chunk, config)
    else:
        with concurrency(gpu_limit, occupy=1, strict=True, lease_duration=GPU_LEASE_S):
            held = time.time()
            stats = propose_chunk(work_dir, chunk, config)
            stats.info["gpu_slots"] = [[held, time.time()]]  # when this chunk held its slot (wall clock)
    stats.info["worker"] = worker_name()
    return stats


@task(name="propose-finish", cache_policy=NO_CACHE)
def finish_propose_task(work_dir: str, plan, seconds: float) -> StageStats:
    from pipeline.layout import WorkDir
    from pipeline.proposals.propose import finish_proposals

    return finish_proposals(WorkDir(work_dir), plan, seconds)


@flow(name="avatar-prepare", log_prints=True, task_runner=make_task_runner())
def prepare_flow(source: str, batch: str = "default", config: PrepareSettings = PrepareSettings(),  # noqa: B008
                 chunk_videos: ChunkSize = 50) -> StageStats:
    """Prepare the videos of a source into the batch's work folder, chunk by chunk.

    Args:
        source: ``csv:FILE`` (VGGSound rows, downloaded by the chunks) | ``dir:DIR`` | ``glob:PATTERN`` | ``synth:DIR``.
        batch: the batch name (work folder ``<AVATAR_WORK_DIR>/batches/<batch>``).
        config: the stage's settings (every field of PrepareConfig, with its default).
        chunk_videos: videos per task (a task's rows are kept even if a later one fails).
    """
    settings = params.prepare_config(config)  # refused before anything is written
    work = batch_work(batch)
    with work.lock(f"flow avatar-prepare, batch {batch}"):
        plan = plan_prepare_task(source, str(work.root), settings)
        run = run_chunks("prepare", batch, prepare_chunk_task, plan.chunks(chunk_videos), str(work.root), settings)
        stats = finish_prepare_task(str(work.root), plan, run)
    create_markdown_artifact(stage_report(batch, stats, run), key=artifact_key("prepare", batch))
    return stats


@flow(name="avatar-propose", log_prints=True, task_runner=make_task_runner())
def propose_flow(batch: str = "default", models: Preset = "paper",
                 config: ProposeSettings = ProposeSettings(),  # noqa: B008
                 models_dir: str | None = None, chunk_frames: ChunkSize = 200,
                 gpu_limit: str = GPU_LIMIT, pushed: Literal["keep", "redo"] | None = None) -> StageStats:
    """Propose sounding-instance masks for the batch's frames, chunk by chunk.

    Args:
        batch: the batch name (its frames come from avatar-prepare).
        models: the preset: ``paper`` (full-size models, GPU), ``cpu-demo`` (YOLOv8n int8 + YAMNet) or ``no-weights``.
        config: ProposeConfig fields; an empty field takes the preset's value.
        models_dir: where ``cpu-demo`` finds its two models (default ``$AVATAR_HOME/models``).
        chunk_frames: frames per task (a video's frames stay in one task).
        gpu_limit: global concurrency limit every chunk that may use a GPU holds a slot of (made with 1 slot if
            missing; an inactive limit is refused).
        pushed: frames proposed with other settings and already pushed to Label Studio: empty refuses the run
            (naming the difference), ``keep`` keeps their proposals as pushed, ``redo`` proposes them again.
    """
    settings = params.propose_config(config, models, models_dir)
    limit = gpu_limit if uses_gpu(settings) else None
    if limit:
        ensure_limit(limit)
    else:
        get_run_logger().info("propose runs on the CPU (device %s): no GPU slot is taken", settings.device)
    work = batch_work(batch)
    with work.lock(f"flow avatar-propose, batch {batch}"):
        plan = plan_propose_task(str(work.root), settings, pushed)
        started = time.monotonic()
        run = run_chunks("propose", batch, propose_chunk_task, plan.chunks(chunk_frames), str(work.root), settings,
                         limit)
        stats = finish_propose_task(str(work.root), plan, time.monotonic() - started)
    create_markdown_artifact(stage_report(batch, stats, run), key=artifact_key("propose", batch))
    return stats


def uses_gpu(config) -> bool:
    """Whether propose may put a model on a GPU (then each chunk takes a slot of the GPU limit): a torch or
    ultralytics backend on a device other than ``cpu`` (YAMNet and GrabCut run on the CPU)."""
    torch_backends = (config.detector != "none", config.tagger == "cavmae", config.segmenter not in ("none", "grabcut"))
    return config.device != "cpu" and any(torch_backends)


def with_runner(flow_obj, task_runner: str | None):
    """The same flow on another task runner (``thread``, ``dask``, ``dask:ADDRESS``; None: the default)."""
    return flow_obj.with_options(task_runner=make_task_runner(task_runner))


def main(argv: list[str] | None = None) -> int:
    """The CLI; bad input exits 2 and chunks that did not finish exit 1, each with one line (no traceback)."""
    parser = argparse.ArgumentParser(description="run avatar-prepare or avatar-propose here (no deployment needed)")
    parser.add_argument("stage", choices=("prepare", "propose"))
    parser.add_argument("--source", help="prepare: csv:FILE | dir:DIR | glob:PATTERN | synth:DIR")
    parser.add_argument("--batch", default="default")
    parser.add_argument("--config", type=json.loads, default=None, help="JSON of the stage's settings")
    parser.add_argument("--models", default="paper", help="propose: paper | cpu-demo | no-weights")
    parser.add_argument("--models-dir", default=None, help="propose --models cpu-demo: folder of its two models")
    parser.add_argument("--chunk", type=_positive, default=None, help="videos (prepare) or frames (propose) per chunk")
    parser.add_argument("--task-runner", default=None, help="thread | dask | dask:tcp://HOST:8786")
    parser.add_argument("--gpu-limit", default=GPU_LIMIT, help="propose: the global concurrency limit of GPU chunks")
    parser.add_argument("--pushed", choices=("keep", "redo"), default=None,
                        help="propose: frames proposed with other settings and already in Label Studio: keep their "
                             "proposals or propose them again (default: refuse the run, naming the difference)")
    args = parser.parse_args(argv)
    if args.stage == "prepare" and not args.source:
        parser.error("prepare needs --source")
    return run_cli(lambda: _run(args))


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def _run(args: argparse.Namespace) -> StageStats:
    if args.stage == "prepare":
        params.prepare_config(args.config)  # bad settings or source: refused before Prefect starts
        check_source(args.source)
        return with_runner(prepare_flow, args.task_runner)(args.source, args.batch, args.config or {},
                                                           args.chunk or 50)
    params.propose_config(args.config, args.models, args.models_dir)
    return with_runner(propose_flow, args.task_runner)(args.batch, args.models, args.config or {}, args.models_dir,
                                                       args.chunk or 200, args.gpu_limit, args.pushed)


if __name__ == "__main__":
    raise SystemExit(main())

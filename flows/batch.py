"""``avatar-annotation-batch``: prepare -> propose -> push for one batch of videos, as one Prefect run.

    prefect deployment run 'avatar-annotation-batch/no-weights' -p source=synth:/data/synth -p batch=b1
    python -m flows.batch --source synth:/data/synth --batch b1 --task-runner dask:tcp://10.0.0.5:8786
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows import params
from flows.common import GPU_LIMIT, artifact_key, report, run_cli
from flows.params import ChunkSize, PrepareSettings, Preset, ProposeSettings
from flows.review import review_push_flow
from flows.stages import prepare_flow, propose_flow, with_runner
from pipeline.sources import check_source


@flow(name="avatar-annotation-batch", log_prints=True)
def annotation_batch(source: str, batch: str = "default", categories: str | None = None, project: str | None = None,
                     models: Preset = "paper", prepare_config: PrepareSettings = PrepareSettings(),  # noqa: B008
                     propose_config: ProposeSettings = ProposeSettings(),  # noqa: B008
                     models_dir: str | None = None, task_runner: str | None = None,
                     propose_task_runner: str | None = None, chunk_videos: ChunkSize = 50,
                     chunk_frames: ChunkSize = 200, gpu_limit: str = GPU_LIMIT) -> dict[str, Any]:
    """One batch end to end up to review: the annotators take over in Label Studio, then run avatar-review-pull.

    Args:
        source: ``csv:FILE`` | ``dir:DIR`` | ``glob:PATTERN`` | ``synth:DIR``.
        batch: the batch name (work dir ``<AVATAR_WORK_DIR>/batches/<batch>``, project ``AVATAR <batch>``).
        categories: taxonomy YAML or AVATAR-COCO JSON naming the categories (default annotations/taxonomy.yaml).
        project: Label Studio project title.
        models: the propose preset: ``paper`` (full-size models, GPU), ``cpu-demo`` or ``no-weights``.
        prepare_config / propose_config: stage settings (empty propose fields: the preset's values).
        models_dir: where ``cpu-demo`` finds its models (default ``$AVATAR_HOME/models``).
        task_runner: ``thread`` | ``dask`` | ``dask:tcp://HOST:8786`` (default ``$AVATAR_TASK_RUNNER`` or thread).
        propose_task_runner: propose's runner when it differs (a cluster of GPU machines); default ``task_runner``.
        chunk_videos / chunk_frames: videos per prepare task, frames per propose task.
        gpu_limit: the global concurrency limit every propose chunk on a GPU holds a slot of.
    """
    params.prepare_config(prepare_config)  # every setting is checked before any work
    params.propose_config(propose_config, models, models_dir)
    prepared = with_runner(prepare_flow, task_runner)(source, batch, prepare_config, chunk_videos)
    proposed = with_runner(propose_flow, propose_task_runner or task_runner)(batch, models, propose_config, models_dir,
                                                                           chunk_frames, gpu_limit)
    pushed = review_push_flow(batch, project, categories)
    stages = {"prepare": prepared, "propose": proposed, "push": pushed}
    create_markdown_artifact(report(batch, stages, pushed.info["progress"]), key=artifact_key("batch", batch))
    return {name: stats.to_dict() for name, stats in stages.items()}


def main(argv: list[str] | None = None) -> int:
    """The CLI; bad input exits 2 and chunks that did not finish exit 1, each with one line (no traceback)."""
    parser = argparse.ArgumentParser(description="run avatar-annotation-batch here (no deployment needed)")
    parser.add_argument("--source", required=True)
    parser.add_argument("--batch", default="default")
    parser.add_argument("--categories", default=None)
    parser.add_argument("--project", default=None)
    parser.add_argument("--models", default="paper", help="paper | cpu-demo | no-weights")
    parser.add_argument("--models-dir", default=None, help="--models cpu-demo: folder of its two models")
    parser.add_argument("--prepare-config", type=json.loads, default=None, help="JSON of PrepareConfig fields")
    parser.add_argument("--propose-config", type=json.loads, default=None, help="JSON of ProposeConfig fields")
    parser.add_argument("--task-runner", default=None, help="thread | dask | dask:tcp://HOST:8786")
    parser.add_argument("--propose-task-runner", default=None, help="propose's runner (default: --task-runner)")
    args = parser.parse_args(argv)

    def run() -> dict[str, Any]:
        params.prepare_config(args.prepare_config)  # bad settings or source: refused before Prefect starts
        check_source(args.source)
        params.propose_config(args.propose_config, args.models, args.models_dir)
        return annotation_batch(args.source, args.batch, args.categories, args.project, args.models,
                                args.prepare_config or {}, args.propose_config or {}, args.models_dir,
                                args.task_runner, args.propose_task_runner)

    return run_cli(run)


if __name__ == "__main__":
    raise SystemExit(main())

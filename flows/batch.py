"""``avatar-annotation-batch``: prepare -> propose -> push for one batch of videos, as one Prefect run.

    prefect deployment run 'avatar-annotation-batch/default' -p source=synth:/data/synth -p batch=b1
    python -m flows.batch --source synth:/data/synth --batch b1 --task-runner dask     # without a deployment
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.common import artifact_key, report
from flows.review import review_push_flow
from flows.stages import prepare_flow, propose_flow, with_runner


@flow(name="avatar-annotation-batch", log_prints=True)
def annotation_batch(source: str, batch: str = "default", categories: str | None = None, project: str | None = None,
                     prepare_config: dict[str, Any] | None = None, propose_config: dict[str, Any] | None = None,
                     task_runner: str = "thread") -> dict[str, Any]:
    """One batch end to end up to review: the annotators take over in Label Studio, then run avatar-review-pull.

    Args:
        source: ``csv:FILE`` | ``dir:DIR`` | ``glob:PATTERN`` | ``synth:DIR``.
        batch: the batch name (work dir ``<AVATAR_WORK_DIR>/batches/<batch>``, project ``AVATAR <batch>``).
        categories: taxonomy YAML or AVATAR-COCO JSON naming the categories (default annotations/taxonomy.yaml).
        project: Label Studio project title.
        prepare_config / propose_config: stage settings (PrepareConfig / ProposeConfig fields).
        task_runner: ``thread``, ``dask`` or ``dask:ADDRESS`` (multi-machine).
    """
    prepared = with_runner(prepare_flow, task_runner)(source, batch, prepare_config)
    proposed = with_runner(propose_flow, task_runner)(batch, propose_config)
    pushed = review_push_flow(batch, project, categories)
    stages = {"prepare": prepared, "propose": proposed, "push": pushed}
    create_markdown_artifact(report(batch, stages, pushed.info["progress"]), key=artifact_key("batch", batch))
    return {name: stats.to_dict() for name, stats in stages.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run avatar-annotation-batch here (no deployment needed)")
    parser.add_argument("--source", required=True)
    parser.add_argument("--batch", default="default")
    parser.add_argument("--categories", default=None)
    parser.add_argument("--project", default=None)
    parser.add_argument("--prepare-config", type=json.loads, default=None, help="JSON of PrepareConfig fields")
    parser.add_argument("--propose-config", type=json.loads, default=None, help="JSON of ProposeConfig fields")
    parser.add_argument("--task-runner", default="thread", help="thread | dask | dask:tcp://HOST:8786")
    args = parser.parse_args(argv)
    result = annotation_batch(args.source, args.batch, args.categories, args.project, args.prepare_config,
                              args.propose_config, args.task_runner)
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

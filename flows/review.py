"""``avatar-review-push`` and ``avatar-review-pull``: Label Studio round trip of one batch (network I/O: retried)."""

from __future__ import annotations

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.common import NETWORK_RETRIES, annotations_dir, artifact_key, batch_work, only_network_errors, report
from pipeline.stats import StageStats


def review_config(batch: str, project: str | None, categories: str | None):
    from pipeline.config import load_config
    from pipeline.review import ReviewConfig

    return load_config(ReviewConfig, values={"project": project or f"AVATAR {batch}", "categories": categories})


# Label Studio is remote state: never cached (push and pull are idempotent themselves), retried when unreachable.
@task(name="review-push", cache_policy=NO_CACHE, retry_condition_fn=only_network_errors, **NETWORK_RETRIES)
def push_task(work_dir: str, batch: str, project: str | None, categories: str | None) -> StageStats:
    from pipeline.review import push

    return push(work_dir, review_config(batch, project, categories))


@task(name="review-pull", cache_policy=NO_CACHE, retry_condition_fn=only_network_errors, **NETWORK_RETRIES)
def pull_task(work_dir: str, out: str, batch: str, project: str | None, categories: str | None) -> StageStats:
    from pipeline.review import pull

    return pull(work_dir, out, review_config(batch, project, categories))


@task(name="review-progress", cache_policy=NO_CACHE, retry_condition_fn=only_network_errors, **NETWORK_RETRIES)
def progress_task(project_id: int) -> dict[str, int]:
    from pipeline.review.client import LabelStudioClient

    return LabelStudioClient.from_settings().progress(project_id)


@task(name="proposal-quality", cache_policy=NO_CACHE)
def quality_task(work_dir: str) -> StageStats:
    """The proposal-quality report of the batch (``avatar-pipeline report``), into ``<batch>/report``."""
    from pipeline.layout import WorkDir
    from pipeline.report import quality_report

    return quality_report([WorkDir(work_dir)], WorkDir(work_dir).root / "report")


@flow(name="avatar-review-push", log_prints=True)
def review_push_flow(batch: str = "default", project: str | None = None,
                     categories: str | None = None) -> StageStats:
    """Send the batch's proposals to the Label Studio project (default title ``AVATAR <batch>``)."""
    stats = push_task(str(batch_work(batch).root), batch, project, categories)
    stats.info["progress"] = progress_task(stats.info["project_id"])
    create_markdown_artifact(report(batch, {"push": stats}, stats.info["progress"]),
                             key=artifact_key("review-push", batch))
    return stats


@flow(name="avatar-review-pull", log_prints=True)
def review_pull_flow(batch: str = "default", project: str | None = None, categories: str | None = None,
                     out: str | None = None) -> StageStats:
    """Merge the batch's verified annotations into ``out`` (default ``<AVATAR_WORK_DIR>/annotations``)."""
    stats = pull_task(str(batch_work(batch).root), out or str(annotations_dir()), batch, project, categories)
    stats.info["progress"] = progress_task(stats.info["project_id"])
    create_markdown_artifact(report(batch, {"pull": stats}, stats.info["progress"]),
                             key=artifact_key("review-pull", batch))
    quality = quality_task(str(batch_work(batch).root), return_state=True)  # what annotators kept of the proposals
    if quality.is_completed():  # a report that cannot be made does not undo the pull
        create_markdown_artifact(quality.result().info["markdown"], key=artifact_key("proposal-quality", batch))
    return stats

"""Wiring helpers shared by the flows: where a batch lives, task runners, cache and retry policies, reports.

Nothing here knows a stage's internals: the flows call the ``pipeline`` stages, which own their manifests; a
batch's files are reached through :class:`pipeline.layout.WorkDir`, a stage's result is a
:class:`pipeline.stats.StageStats` rendered as it renders itself.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from prefect.cache_policies import INPUTS, TASK_SOURCE

from pipeline.layout import WorkDir
from pipeline.settings import get_settings
from pipeline.stats import StageStats

# A stage task is skipped on a rerun with the same inputs and the same code; the flows add a fingerprint of the
# source to the inputs and force a recompute when the stage's own output is missing (the dataset stays the
# source of truth, the cache only saves the time to find out).
STAGE_CACHE = INPUTS + TASK_SOURCE
GPU_LIMIT = "avatar-gpu"  # global concurrency limit: `prefect gcl create avatar-gpu --limit 1`
# Label Studio restarts in seconds: two retries, 2 s then 10 s later (AVATAR_RETRY_DELAYS="2,10" to change).
NETWORK_RETRIES = {"retries": 2, "retry_delay_seconds": [float(s) for s in
                                                        os.environ.get("AVATAR_RETRY_DELAYS", "2,10").split(",")]}


def batch_dir(batch: str) -> Path:
    """``<AVATAR_WORK_DIR>/batches/<batch>``: the batch's work folder (manifests, frames and videos)."""
    return batch_work(batch).root


def batch_work(batch: str) -> WorkDir:
    """The :class:`WorkDir` of a batch; PipelineError for a name that is not a plain folder name."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", batch):
        from pipeline.errors import PipelineError

        raise PipelineError(f"batch {batch!r}: expected letters, digits, '.', '_' or '-' (at most 64)")
    return WorkDir(Path(get_settings().work_dir) / "batches" / batch)


def annotations_dir() -> Path:
    """Where every batch's reviewed annotations are merged: the annotations folder of the whole work dir."""
    return WorkDir(get_settings().work_dir).annotations


def source_fingerprint(source: str) -> str:
    """Changes when the source's files change (names, sizes, times), so a cached prepare is redone."""
    from pipeline.errors import PipelineError
    from pipeline.sources import parse_source
    from pipeline.sources.local import list_videos

    try:
        kind, value = parse_source(source)
    except PipelineError:  # prepare itself reports the bad spec
        kind, value = "", source
    path, digest = Path(value), hashlib.sha256(source.encode())
    if kind == "glob":
        files = list_videos(value)  # exactly the files prepare reads
    else:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
    for f in files:
        st = f.stat()
        digest.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def only_network_errors(task, task_run, state) -> bool:
    """Retry condition: retry a task only when Label Studio could not be reached (not for bad data)."""
    from pipeline.review.client import ServiceUnavailable

    try:
        state.result()
    except ServiceUnavailable:
        return True
    except Exception:  # noqa: BLE001 - any other failure is final
        return False
    return False


def make_task_runner(name: str = "thread"):
    """``thread`` (default, one machine), ``dask`` (a local Dask cluster, or the scheduler at
    ``$AVATAR_DASK_ADDRESS``) or ``dask:tcp://host:8786`` (an existing multi-machine cluster)."""
    from prefect.task_runners import ThreadPoolTaskRunner

    if name == "thread":
        return ThreadPoolTaskRunner()
    if name != "dask" and not name.startswith("dask:"):
        from pipeline.errors import PipelineError

        raise PipelineError(f"task runner {name!r}: expected thread, dask or dask:ADDRESS")
    from prefect_dask import DaskTaskRunner

    address = name.partition(":")[2] or os.environ.get("AVATAR_DASK_ADDRESS")
    if address:
        return DaskTaskRunner(address=address)
    workers = int(os.environ.get("AVATAR_DASK_WORKERS", "2"))
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None})


def artifact_key(*parts: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")[:100]


def report(batch: str, stages: dict[str, StageStats | None], progress: dict[str, int] | None) -> str:
    """The run's markdown artifact: kept/rejected counts per stage and the review progress."""
    lines = [f"# AVATAR annotation batch `{batch}`", "", "| stage | kept | rejected | reasons |", "|---|---|---|---|"]
    lines += [s.markdown_row(name) for name, s in stages.items() if s is not None]
    if progress:
        done = progress.get("annotated", 0)
        total = progress.get("tasks", 0)
        pct = 100.0 * done / total if total else 0.0
        lines += ["", f"**Review progress**: {done}/{total} tasks annotated ({pct:.0f} %), "
                      f"{progress.get('skipped', 0)} skipped."]
    return "\n".join(lines) + "\n"

"""Wiring helpers shared by the flows: where a batch lives, task runners, retry policies, reports, the CLI.

Nothing here knows a stage's internals: the flows call the ``pipeline`` stages, which own their manifests; a
batch's files are reached through :class:`pipeline.layout.WorkDir`, a stage's result is a
:class:`pipeline.stats.StageStats` rendered as it renders itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.layout import WorkDir
from pipeline.settings import get_settings
from pipeline.stats import StageStats

GPU_LIMIT = "avatar-gpu"  # global concurrency limit of GPU stages: `prefect gcl create avatar-gpu --limit <GPUs>`
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


def make_task_runner(name: str | None = None):
    """The task runner that runs a stage's chunks:

    - ``thread`` (default): threads of the flow's process, ``$AVATAR_THREADS`` at once (default: one per core);
    - ``dask``: a local Dask cluster of ``$AVATAR_DASK_WORKERS`` processes (default 2), or the scheduler at
      ``$AVATAR_DASK_ADDRESS``;
    - ``dask:tcp://HOST:8786``: an existing cluster, possibly of many machines.

    ``None``: ``$AVATAR_TASK_RUNNER``, else ``thread`` (how a stage deployment picks its runner).
    """
    from prefect.task_runners import ThreadPoolTaskRunner

    name = name or os.environ.get("AVATAR_TASK_RUNNER") or "thread"
    if name == "thread":
        return ThreadPoolTaskRunner(max_workers=_positive_env("AVATAR_THREADS", os.cpu_count() or 1))
    if name != "dask" and not name.startswith("dask:"):
        from pipeline.errors import PipelineError

        raise PipelineError(f"task runner {name!r}: expected thread, dask or dask:ADDRESS")
    from prefect_dask import DaskTaskRunner

    address = name.partition(":")[2] or os.environ.get("AVATAR_DASK_ADDRESS")
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": _positive_env("AVATAR_DASK_WORKERS", 2), "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})


def _positive_env(name: str, default: int) -> int:
    from pipeline.errors import PipelineError

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise PipelineError(f"${name}: expected a positive whole number, got {raw!r}")
    return int(raw)


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


def run_cli(call: Callable[[], Any]) -> int:
    """Run a flow for a CLI and print its result as JSON. Bad input: one line on stderr and exit 2; chunks that
    did not finish (a worker died): one line and exit 1; never a traceback for either."""
    from prefect.exceptions import ParameterTypeError
    from pydantic import ValidationError

    from flows.chunks import ChunksFailed
    from pipeline.errors import PipelineError

    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout holds the JSON result alone, whatever a library prints
            result = call()
    except (PipelineError, ParameterTypeError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ChunksFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result.to_dict() if isinstance(result, StageStats) else result, indent=2, default=str))
    return 0

"""A real Prefect server, process work pool, deployments (``prefect deploy`` of prefect.yaml) and worker.

Everything binds 127.0.0.1, lives under the session's tmp dir (its own PREFECT_HOME, results storage and
AVATAR_WORK_DIR) and is killed at the end of the session. The worker ignores SIGTERM: SIGINT twice, then KILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.review.services import REPO, LabelStudioService, free_port, register

PREFECT = [sys.executable, "-m", "prefect"]
POOL = "avatar-process"


def _stop(proc: subprocess.Popen | None, signals=(signal.SIGINT, signal.SIGINT), grace: float = 10) -> None:
    """Stop a process started in its own session, with its children (flow runs of a worker)."""
    import psutil

    if proc is None or proc.poll() is not None:
        return
    try:
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for sig in signals:
        proc.send_signal(sig)
        try:
            proc.wait(grace / len(signals))
            break
        except subprocess.TimeoutExpired:
            continue
    for p in tree:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    proc.wait(10)


class PrefectStack:
    """Server + pool + deployments + worker, with the Label Studio service's settings in the worker's env."""

    def __init__(self, base: Path):
        self.base, self.port = base, free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.work_dir = base / "work"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "LABEL_STUDIO_"))}
        self.env.update({"PREFECT_HOME": str(base / "prefect"), "PREFECT_API_URL": self.api,
                         "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_WORKER_QUERY_SECONDS": "1",
                         "PREFECT_LOCAL_STORAGE_PATH": str(base / "prefect" / "storage"),
                         "AVATAR_WORK_DIR": str(self.work_dir)})
        self.server: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    def connect(self, label_studio: LabelStudioService) -> None:
        """Flow runs reach this Label Studio (through the worker's environment)."""
        self.env.update({"LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_TOKEN_FILE": str(label_studio.token_file),
                         "LOCAL_FILES_DOCUMENT_ROOT": label_studio.env["LOCAL_FILES_DOCUMENT_ROOT"]})

    def cli(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([*PREFECT, *args], env=self.env, cwd=REPO, capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.base / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        proc = subprocess.Popen([*PREFECT, *args], env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        register(proc.pid)  # stopped by the reaper if pytest dies before the teardown
        return proc

    def spawn_server(self) -> None:
        """Start the server without waiting (Label Studio starts meanwhile)."""
        self.server = self._spawn("server", "server", "start", "--host", "127.0.0.1", "--port", str(self.port))

    def wait_healthy(self) -> None:
        """Wait for the server to answer /api/health (RuntimeError with its log if it does not within 180 s)."""
        deadline = time.monotonic() + 180
        while not self.healthy():
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Prefect server did not start: {(self.base / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)

    def start(self) -> None:
        """Wait for the server, then the GPU limit (REST), the pool and the deployments (CLI), and a worker."""
        self.wait_healthy()
        resp = httpx.post(f"{self.api}/v2/concurrency_limits/", json={"name": "avatar-gpu", "limit": 1}, timeout=30)
        if resp.status_code not in (200, 201, 409):
            raise RuntimeError(f"creating the avatar-gpu limit: HTTP {resp.status_code} {resp.text[:300]}")
        self.cli("work-pool", "create", POOL, "--type", "process", "--overwrite")  # with its base job template
        self.cli("--no-prompt", "deploy", "--all")
        self.start_worker()

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", "worker", "start", "--pool", POOL)

    def kill_worker(self) -> None:
        """A crash: SIGKILL the worker and the flow runs it started."""
        _stop(self.worker, signals=(signal.SIGKILL,), grace=5)

    def stop_worker(self) -> None:
        _stop(self.worker)

    def stop(self) -> None:
        self.stop_worker()
        _stop(self.server, signals=(signal.SIGINT, signal.SIGTERM))

    # ------------------------------------------------------------------ runs
    def run(self, deployment: str, params: dict[str, Any], watch: bool = True, timeout: int = 300,
            job_env: dict[str, str] | None = None) -> tuple[str, str]:
        """``prefect deployment run`` (``--watch``): return the flow run id and its final state type."""
        args = ["deployment", "run", deployment, "--params", json.dumps(params)]
        if job_env:
            args += ["--job-variable", f"env={json.dumps(job_env)}"]
        if watch:
            args += ["--watch", "--watch-interval", "1", "--watch-timeout", str(timeout)]
        out = self.cli(*args, timeout=timeout + 60, check=False)
        run_id = next((line.split("UUID:")[1].strip() for line in out.stdout.splitlines() if "UUID:" in line), "")
        if not run_id:
            raise RuntimeError(f"prefect deployment run {deployment}: no flow run id\n{out.stdout}\n{out.stderr}")
        return run_id, self.flow_run(run_id)["state_type"]

    def flow_run(self, run_id: str) -> dict[str, Any]:
        return httpx.get(f"{self.api}/flow_runs/{run_id}", timeout=10).json()

    def task_runs(self, run_id: str) -> list[dict[str, Any]]:
        """Task runs of a flow run and of its subflows (a subflow's run points at the task run that called it)."""
        family: set[str] = {run_id}
        while True:
            tasks = httpx.post(f"{self.api}/task_runs/filter", timeout=10, json={
                "task_runs": {"flow_run_id": {"any_": sorted(family)}}, "limit": 200}).json()
            children = httpx.post(f"{self.api}/flow_runs/filter", timeout=10, json={
                "flow_runs": {"parent_task_run_id": {"any_": [t["id"] for t in tasks]}}, "limit": 200}).json()
            grown = family | {r["id"] for r in children}
            if grown == family:
                return tasks
            family = grown

    def artifact(self, key: str) -> str:
        found = httpx.post(f"{self.api}/artifacts/latest/filter", timeout=10,
                           json={"artifacts": {"key": {"any_": [key]}}}).json()
        return found[0]["data"] if found else ""

    def logs(self, run_id: str) -> str:
        logs = httpx.post(f"{self.api}/logs/filter", timeout=10,
                          json={"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}).json()
        return "\n".join(entry["message"] for entry in logs)

    def flow_runs(self, flow_name: str) -> list[dict[str, Any]]:
        """Runs of a flow, oldest first."""
        return httpx.post(f"{self.api}/flow_runs/filter", timeout=10,
                          json={"flows": {"name": {"any_": [flow_name]}}, "sort": "EXPECTED_START_TIME_ASC",
                                "limit": 200}).json()

"""A real Dask cluster of separate processes on 127.0.0.1, for tests and benchmarks of the flows.

The same commands an operator runs (``dask scheduler``, ``dask worker``), each process in its own session, with
the toolkit importable (the scheduler unpickles the task graph too, so it needs the toolkit as well)::

    with LocalDaskCluster(log_dir, workers=("w1", "w2")) as cluster:
        flow(..., task_runner="dask:" + cluster.address)
        cluster.kill("w2")                       # SIGKILL: a worker that dies mid-batch

Workers run without a nanny (a killed worker stays dead) and one thread each (one chunk at a time).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalDaskCluster:
    """A scheduler and named workers as child processes; ``env`` is added to their environment.

    Args:
        log_dir: each process writes ``<name>.log`` here.
        workers: worker names.
        env: extra environment (e.g. ``PREFECT_HOME``; ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0`` makes
            a task whose worker died fail at once instead of running again elsewhere).
        timeout: seconds to wait for the scheduler and every worker to be up.
    """

    def __init__(self, log_dir: Path, workers: Iterable[str] = ("w1", "w2"), env: dict[str, str] | None = None,
                 timeout: float = 180.0):
        self.log_dir, self.names, self.timeout = Path(log_dir), list(workers), timeout
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        self.env = {**os.environ, "PYTHONPATH": path, **(env or {})}
        self.procs: dict[str, subprocess.Popen] = {}
        self.on_start: list = []  # called with each new process (a test registers it with its reaper)

    def __enter__(self) -> LocalDaskCluster:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _spawn(self, name: str, *args: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        dask = [sys.executable, "-m", "distributed.cli.dask_" + args[0]]
        self.procs[name] = subprocess.Popen([*dask, *args[1:]], env=self.env, cwd=REPO, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        for hook in self.on_start:
            hook(self.procs[name])

    def start(self) -> None:
        """Start the scheduler, then the workers; return once every worker has joined."""
        self._spawn("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard")
        for name in self.names:
            self._spawn(name, "worker", self.address, "--name", name, "--nthreads", "1", "--no-nanny",
                        "--no-dashboard", "--host", "127.0.0.1")
        self.wait_for(self.names)

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=self.timeout)

    def wait_for(self, names: Iterable[str]) -> None:
        """Wait until these workers are registered with the scheduler (RuntimeError with the logs if not)."""
        from distributed import Client

        deadline = time.monotonic() + self.timeout
        while True:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"dask {dead} exited: {self.logs(dead)}")
            try:
                with Client(self.address, timeout=10) as client:
                    if set(names) <= set(self.worker_addresses(client)):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dask workers {list(names)} did not join {self.address}: {self.logs(self.procs)}")
            time.sleep(0.5)

    @staticmethod
    def worker_addresses(client) -> dict[str, str]:
        """``{worker name: address}`` of the workers the scheduler knows now."""
        return {str(w["name"]): addr for addr, w in client.scheduler_info()["workers"].items()}

    def kill(self, name: str) -> None:
        """SIGKILL one process (a worker that dies mid-batch) and reap it."""
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def stop(self) -> None:
        """Stop every process: SIGTERM, then SIGKILL what is left after 10 s."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)

    def logs(self, names: Iterable[str]) -> str:
        out = []
        for name in names:
            path = self.log_dir / f"{name}.log"
            out.append(f"--- {name}\n{path.read_text(errors='replace')[-1500:] if path.exists() else ''}")
        return "\n".join(out)

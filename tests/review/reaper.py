"""Stops the test session's services if pytest dies without its teardown (SIGKILL, or SIGTERM from a timeout).

    python -m tests.review.reaper PYTEST_PID REGISTRY_FILE

The fixtures append the PID of every service they start (Label Studio, Prefect server, worker) to the registry;
while pytest lives, the reaper also remembers their descendants (the worker's flow runs start their own
sessions). When pytest is gone, it terminates them all, then kills what is left. A normal teardown stops the
services itself and then terminates the reaper.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil


def _registered(registry: Path) -> list[psutil.Process]:
    """The registered services still running: lines ``PID CREATE_TIME`` (a reused PID does not match)."""
    out = []
    try:
        lines = registry.read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        pid, _, created = line.partition(" ")
        try:
            proc = psutil.Process(int(pid))
            if abs(proc.create_time() - float(created)) < 0.01:
                out.append(proc)
        except (ValueError, psutil.NoSuchProcess):
            continue
    return out


def _tree(procs: list[psutil.Process]) -> dict[tuple[int, float], psutil.Process]:
    out = {}
    for proc in procs:
        try:
            for p in (proc, *proc.children(recursive=True)):
                out[(p.pid, p.create_time())] = p
        except psutil.NoSuchProcess:
            continue
    return out


def main(parent_pid: int, registry: Path) -> int:
    parent = psutil.Process(parent_pid)
    known: dict[tuple[int, float], psutil.Process] = {}
    while parent.is_running() and parent.status() != psutil.STATUS_ZOMBIE:
        known.update(_tree(_registered(registry)))
        time.sleep(1.0)
    known.update(_tree(_registered(registry)))
    procs = [p for p in known.values() if p.is_running()]  # is_running() also checks the creation time
    for p in procs:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=10)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), Path(sys.argv[2])))

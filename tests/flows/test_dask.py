"""A batch spread over a real Dask cluster (a scheduler and two workers, each its own process on 127.0.0.1), one
worker SIGKILLed mid-batch: the run fails naming the lost chunk, the rerun does only what is missing, and the
manifests and frames end exactly as those of an uninterrupted run on the thread runner."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from avatar_bench.synth import generate
from flows.testing import LocalDaskCluster
from pipeline.layout import WorkDir
from tests.review.services import REPO, register

pytestmark = [pytest.mark.services, pytest.mark.slow]
TABLES = ("videos", "probe", "activity", "frames", "selection", "proposals")


def stage_cli(env: dict[str, str], *args: str, merged: bool = False) -> subprocess.Popen:
    """``python -m flows.stages ...`` against the session's Prefect server (``merged``: stderr into stdout)."""
    return subprocess.Popen([sys.executable, "-m", "flows.stages", *args], env=env, cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merged else subprocess.PIPE,
                            start_new_session=True)


class Output:
    """A process's output read as it comes (the flow's console log shows each chunk as it finishes)."""

    def __init__(self, proc: subprocess.Popen):
        self.lines: list[str] = []
        self.thread = threading.Thread(target=lambda: self.lines.extend(iter(proc.stdout.readline, "")), daemon=True)
        self.thread.start()

    def text(self) -> str:
        return "".join(self.lines)


def finish(proc: subprocess.Popen, expect: int = 0, timeout: float = 600) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == expect, f"exit {proc.returncode}\n{out[-2000:]}\n{err[-4000:]}"
    return err


def content(work: WorkDir) -> dict[str, list[dict]]:
    """Every table's rows, sorted by key, with the work folder's own path taken out (it differs per batch)."""
    root = str(work.root)
    out = {}
    for stage in TABLES:
        manifest = work.manifest(stage)
        rows = manifest.read().to_dict("records")
        text = json.dumps(sorted(rows, key=lambda r: r[manifest.key]), sort_keys=True, default=str)
        out[stage] = json.loads(text.replace(root, "<work>"))
    return out


def frame_files(work: WorkDir) -> dict[str, str]:
    return {str(p.relative_to(work.frames)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(work.frames.rglob("*.jpg"))}


def finished_videos(work: WorkDir) -> set[str]:
    """Videos a rerun must not process again: a selection row, or rejected by probe or activity."""
    done = work.manifest("selection").done_ids()
    for stage in ("probe", "activity"):
        done |= work.manifest(stage).done_ids("rejected")
    return done


def kill_mid_batch(cluster: LocalDaskCluster, client, proc: subprocess.Popen, out: Output, victim: str) -> None:
    """SIGKILL ``victim`` once the flow has logged a chunk done on it and it is running another (a result still on
    a worker dies with it and is recomputed elsewhere, so a chunk counts once its result reached the flow)."""
    address = LocalDaskCluster.worker_addresses(client)[victim]
    deadline = time.monotonic() + 400
    while not (f"done on {victim}:" in out.text() and client.processing(workers=[address])[address]):
        assert proc.poll() is None, f"the batch ended before {victim} could be killed mid-batch:\n{out.text()}"
        assert time.monotonic() < deadline, f"{victim} never finished a chunk: {cluster.logs([victim])}"
        time.sleep(0.05)  # polling the log and the scheduler, not waiting for an event
    cluster.kill(victim)


def test_chunks_spread_over_two_dask_workers_and_a_killed_worker_loses_nothing(prefect_server, tmp_path):
    synth = tmp_path / "synth"
    generate(synth, preset="tiny", seed=5, workers=1, progress=False, n_train=5, n_val=1, n_test=2, n_bad=1,
             duration_s=8.0)
    env = {**prefect_server.env, "PYTHONPATH": str(REPO)}
    prepare = ["prepare", "--source", f"synth:{synth}", "--config", json.dumps({"frames": {"n_frames": 3}}),
               "--chunk", "1"]
    propose = ["propose", "--models", "no-weights", "--chunk", "4"]
    prefect_server.wait_healthy()

    # 1. the reference: the same flows on the thread runner, uninterrupted
    finish(stage_cli(env, *prepare, "--batch", "ref"))
    finish(stage_cli(env, *propose, "--batch", "ref"))
    ref = WorkDir(prefect_server.work_dir / "batches" / "ref")

    # 2. on Dask; allowed-failures 0: the chunk a dead worker held fails instead of running again elsewhere
    cluster = LocalDaskCluster(tmp_path / "dask", env={**env, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"})
    cluster.on_start.append(lambda p: register(p.pid))
    work = WorkDir(prefect_server.work_dir / "batches" / "dask")
    with cluster, cluster.client() as client:
        on_dask = ["--batch", "dask", "--task-runner", f"dask:{cluster.address}"]
        workers = LocalDaskCluster.worker_addresses(client)
        since = time.time()
        client.get_task_stream(start=since)  # installs the scheduler's task-stream plugin
        first = stage_cli(env, *prepare, *on_dask, merged=True)
        out = Output(first)
        try:
            kill_mid_batch(cluster, client, first, out, "w2")
            assert first.wait(600) == 1, out.text()
        finally:
            if first.poll() is None:  # a failed check leaves no flow process behind
                os.killpg(first.pid, signal.SIGKILL)
        out.thread.join(30)
        last = [line for line in out.text().splitlines() if line.startswith("error: ")][-1]  # the CLI's one line
        assert last.startswith("error: prepare of batch dask:") and "did not finish" in last, last
        assert "KilledWorker: Attempted to run task" in last and "died while running it" in last
        ran_on = {r["worker"] for r in client.get_task_stream(start=since)}
        assert ran_on == {workers["w1"], workers["w2"]}  # the scheduler saw chunks finish on both workers
        assert not work.summary_path("prepare").exists()  # a stage that did not finish writes no summary

        # 3. the rerun (w1 alone) processes exactly the videos no chunk finished
        done = finished_videos(work)
        n_ok = len(work.manifest("videos").done_ids("ok"))
        assert 0 < len(done) < n_ok
        finish(stage_cli(env, *prepare, *on_dask))
        summary = json.loads(work.summary_path("prepare").read_text())
        assert summary["processed"] == n_ok - len(done) and summary["skipped"] == len(done)
        finish(stage_cli(env, *propose, *on_dask))

    # 4. the same manifests, row for row, and the same JPEGs, byte for byte, as the uninterrupted run
    assert content(work) == content(ref)
    assert frame_files(work) == frame_files(ref) and len(frame_files(ref)) == len(content(ref)["frames"]) > 0
    for table in TABLES:
        assert not (work.manifests / f"{table}.parts").exists()  # every part merged into its table

    # 5. what the lead watches: a line per finished chunk, the progress artifact, the markdown summary
    killed, rerun = prefect_server.flow_runs("avatar-prepare")[-2:]
    killed_log, rerun_log = prefect_server.logs(killed["id"]), prefect_server.logs(rerun["id"])
    assert "done on w1" in killed_log and "done on w2" in killed_log and "did not finish: KilledWorker" in killed_log
    n_chunks = summary["processed"]  # one video per chunk
    assert rerun_log.count("prepare chunk ") == n_chunks
    assert f"prepare chunk {n_chunks}/{n_chunks} done on w1" in rerun_log
    assert float(prefect_server.artifact("prepare-progress-dask")) == 100.0
    report = prefect_server.artifact("prepare-dask")
    assert "**Chunks**:" in report and f"| w1 | {n_chunks} |" in report and "| prepare / frames |" in report

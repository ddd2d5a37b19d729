"""The GPU stage's concurrency limit on a real Prefect server: created with one slot when missing, held by
every propose chunk that may use a GPU (never two at once with one slot, though two threads could run them), and
a limit that would not limit (inactive) refused before any work."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from avatar_bench.synth import generate
from pipeline.layout import WorkDir
from tests.review.services import REPO

pytestmark = [pytest.mark.services, pytest.mark.slow]
LIMIT = "avatar-gpu-test"
# A real YOLOv8n architecture with random weights on device "auto": a model that would go to a GPU if there were one.
ON_A_GPU = {"detector": "yolo", "detector_options": {"model": "yolov8n.yaml"}, "device": "auto"}


def stage_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.stages", *args], env=env, cwd=REPO, text=True,
                          capture_output=True, timeout=600)


def test_propose_holds_the_gpu_limit_and_refuses_a_limit_that_would_not_limit(prefect_server, tmp_path):
    synth = tmp_path / "synth"
    generate(synth, preset="tiny", seed=7, workers=1, progress=False, n_train=2, n_val=1, n_test=1, n_bad=0,
             duration_s=8.0)
    # a fresh ultralytics config dir: its first import logs to stdout, which must not reach the CLI's JSON (as in CI)
    env = {**prefect_server.env, "PYTHONPATH": str(REPO), "AVATAR_THREADS": "2",
           "YOLO_CONFIG_DIR": str(tmp_path / "ultralytics")}
    prefect_server.wait_healthy()
    api = prefect_server.api
    httpx.delete(f"{api}/v2/concurrency_limits/{LIMIT}", timeout=10)  # absent, whatever an earlier session left
    for batch in ("gpu", "inactive"):
        done = stage_cli(env, "prepare", "--source", f"synth:{synth}", "--batch", batch, "--config",
                         json.dumps({"frames": {"n_frames": 2}}))
        assert done.returncode == 0, done.stderr[-3000:]

    propose = ["propose", "--models", "no-weights", "--config", json.dumps(ON_A_GPU), "--chunk", "2",
               "--gpu-limit", LIMIT]
    done = stage_cli(env, *propose, "--batch", "gpu")
    assert done.returncode == 0, done.stderr[-3000:]
    limit = httpx.get(f"{api}/v2/concurrency_limits/{LIMIT}", timeout=10).json()
    assert limit["limit"] == 1 and limit["active"] and limit["active_slots"] == 0  # created; every slot given back
    assert f"global concurrency limit '{LIMIT}' did not exist: created with 1 slot" in done.stderr
    report = prefect_server.artifact("propose-gpu")
    assert "**GPU slots**: 4 chunk(s) held one; at most 1 at once." in report, report  # 4 videos, 2 threads
    assert json.loads(done.stdout)["kept"] == 8

    httpx.patch(f"{api}/v2/concurrency_limits/{LIMIT}", json={"active": False}, timeout=10).raise_for_status()
    done = stage_cli(env, *propose, "--batch", "inactive")
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]  # the CLI's one line
    assert done.returncode == 2 and errors[-1].startswith(f"error: global concurrency limit '{LIMIT}' is inactive")
    assert not WorkDir(prefect_server.work_dir / "batches" / "inactive").table("proposals").exists()
    httpx.delete(f"{api}/v2/concurrency_limits/{LIMIT}", timeout=10)

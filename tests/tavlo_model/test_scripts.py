"""The GPU check script's CPU path at tiny sizes, the throughput tool, and the TAVLO-vs-baseline comparison."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tavlo_model.throughput import main as throughput_main

from .conftest import TINY

REPO = Path(__file__).resolve().parents[2]
TINY_JSON = json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in TINY.items() if k != "img_size"})


def test_throughput_reports_samples_and_loader_wait(toy_root, tmp_path, capsys):
    out = tmp_path / "tp.json"
    assert throughput_main(["--device", "cpu", "--batch", "2", "--img", "64", "--negatives", "1", "--steps", "2",
                            "--warmup", "1", "--data", str(toy_root), "--workers", "0", "--model-overrides",
                            TINY_JSON, "--out", str(out)]) == 0
    results = json.loads(out.read_text(encoding="utf-8"))["results"]
    assert set(results) == {"synthetic", "real loader"}
    for r in results.values():
        assert r["samples_per_s"] > 0 and 0 <= r["data_wait_share"] < 1 and r["device"] == "cpu"
    assert results["synthetic"]["data_wait_share"] < 0.05  # tensors are ready: nothing to wait for
    assert "real loader" in capsys.readouterr().out


@pytest.mark.slow
def test_gpu_check_script_runs_its_cpu_path(toy_root, tmp_path):
    env = {**os.environ, "DATA": str(toy_root), "OUT": str(tmp_path / "gpu"), "DEVICE": "cpu", "TINY": "1",
           "PYTHON": sys.executable, "OMP_NUM_THREADS": "2"}
    proc = subprocess.run(["bash", str(REPO / "scripts" / "gpu_train_check.sh")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = tmp_path / "gpu"
    for name in ("synthetic_fp16", "loader", "loader_cache"):
        results = json.loads((out / f"throughput_{name}.json").read_text(encoding="utf-8"))["results"]
        assert all(r["samples_per_s"] > 0 for r in results.values())
    assert "resumed from" in proc.stderr and (out / "submission.npz").is_file()
    assert json.loads((out / "train" / "summary.json").read_text(encoding="utf-8"))["steps"] == 4

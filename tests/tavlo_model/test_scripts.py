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


@pytest.mark.slow
def test_compare_script_prints_both_tables(toy_root, tmp_path):
    tiny = [f"--model.{k}={list(v) if isinstance(v, tuple) else v}" for k, v in TINY.items()]
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "compare_tavlo_baseline.py"), "--data", str(toy_root),
                           "--out", str(tmp_path / "cmp"), "--quick", "--", "--batch_size=2", "--eval_every=1",
                           "--data.num_workers=0", *tiny], cwd=REPO, capture_output=True, text=True, timeout=400,
                          env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    header, *rows = proc.stdout.strip().splitlines()[-12:]
    assert "TAVLO (T=4)" in header and "EZ-VSL-style (T=1)" in header
    assert any(r.startswith("multi-entity") for r in rows) and any(r.startswith("cross-event") for r in rows)
    saved = json.loads((tmp_path / "cmp" / "comparison.json").read_text(encoding="utf-8"))
    assert set(saved) == {"TAVLO (T=4)", "EZ-VSL-style (T=1)"}
    for result in saved.values():
        assert result["steps"] == 4 and "multi_entity_ciou" in result["test"]
        assert Path(result["checkpoint"]).is_file()
    assert (tmp_path / "cmp" / "synth_small_tavlo" / "submission.npz").is_file()

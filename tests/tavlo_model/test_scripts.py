"""The GPU check script's CPU path at tiny sizes, the throughput tool, and the TAVLO-vs-baseline comparison."""

from __future__ import annotations

import json
import math
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
           "PYTHON": sys.executable, "OMP_NUM_THREADS": "2", "SEEDS": "1 2", "JOBS": "2"}
    proc = subprocess.run(["bash", str(REPO / "scripts" / "gpu_train_check.sh")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = tmp_path / "gpu"
    for name in ("synthetic_fp16", "loader", "loader_cache"):
        results = json.loads((out / f"throughput_{name}.json").read_text(encoding="utf-8"))["results"]
        assert all(r["samples_per_s"] > 0 for r in results.values())
    assert "resumed from" in proc.stderr and (out / "submission.npz").is_file()
    assert json.loads((out / "train" / "summary.json").read_text(encoding="utf-8"))["steps"] == 4
    seeds = json.loads((out / "compare" / "seeds.json").read_text(encoding="utf-8"))["aggregate"]
    assert seeds["seeds"] == [1, 2] and "TAVLO (T=4)" in seeds["models"]


@pytest.mark.slow
def test_compare_script_prints_both_tables(toy_root, tmp_path):
    tiny = [f"--model.{k}={list(v) if isinstance(v, tuple) else v}" for k, v in TINY.items()]
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "compare_tavlo_baseline.py"), "--data", str(toy_root),
                           "--out", str(tmp_path / "cmp"), "--quick", "--", "--batch_size=2", "--eval_every=1",
                           "--data.num_workers=0", *tiny], cwd=REPO, capture_output=True, text=True, timeout=400,
                          env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout.strip().splitlines()
    header = next(i for i, line in enumerate(out) if "TAVLO (T=4)" in line)
    rows = {line[:30].strip(): line for line in out[header + 1:]}
    assert "EZ-VSL-style (T=1)" in out[header] and {"multi-entity  CIoU", "cross-event   CIoU"} <= set(rows)
    assert "T=4, 1 s" in rows["its view"] and "T=1, 1 s" in rows["its view"]
    assert {"multi/single  ratio", "oracle", "chance", "progress chance->oracle"} <= set(rows)
    refs = json.loads((tmp_path / "cmp" / "references.json").read_text(encoding="utf-8"))["references"]
    assert {(r["num_frames"], r["clip_seconds"]) for r in refs.values()} == {(4, 1.0), (1, 1.0)}
    assert all(math.isnan(r["oracle"]) for r in refs.values())  # the toy test split has no multi-entity frame
    saved = json.loads((tmp_path / "cmp" / "comparison.json").read_text(encoding="utf-8"))
    assert set(saved) == {"TAVLO (T=4)", "EZ-VSL-style (T=1)"}
    for result in saved.values():
        assert result["steps"] == 4 and "multi_entity_ciou" in result["test"]
        assert Path(result["checkpoint"]).is_file()
    assert (tmp_path / "cmp" / "synth_small_tavlo" / "submission.npz").is_file()


def test_seed_aggregate_matches_hand_computed_interval():
    from tavlo_model import comparison as compare

    a, b = "TAVLO (T=4)", "EZ-VSL-style (T=1)"
    # differences 2, 4, 6 -> mean 4, sd 2, half-width t(0.975, 2) * 2 / sqrt(3) = 4.303 * 1.1547 = 4.968
    scores = {0: (10.0, 8.0), 1: (9.0, 5.0), 2: (12.0, 6.0)}
    per_seed = {s: {a: {"test": {"multi_entity_ciou": x, "single_ciou": float("nan")}},
                    b: {"test": {"multi_entity_ciou": y, "single_ciou": 1.0}}} for s, (x, y) in scores.items()}
    agg = compare.aggregate(per_seed)
    row = agg["metrics"]["multi_entity_ciou"]
    assert row["n"] == 3 and row["mean"][a] == pytest.approx(31 / 3) and row["mean"][b] == pytest.approx(19 / 3)
    assert row["diff"]["mean"] == pytest.approx(4.0) and row["diff"]["ahead"] == 3
    lo, hi = row["diff"]["ci95"]
    assert lo == pytest.approx(4 - 4.968, abs=1e-3) and hi == pytest.approx(4 + 4.968, abs=1e-3)
    assert agg["metrics"]["single_ciou"]["n"] == 0  # NaN in every seed: no row, no crash
    table = compare.format_seeds(agg, "toy test (3 frames)")
    assert "multi-entity" in table and "+4.00 [-1.0, +9.0]" in table and "3/3" in table
    assert not any(line.startswith("single") for line in table.splitlines())


def test_multi_single_ratio_against_the_views_oracle_and_chance():
    from tavlo_model import comparison as compare

    a, b = "TAVLO (T=4)", "EZ-VSL-style (T=1)"
    assert compare.multi_single_ratio({"multi_entity_ciou": 6.0, "single_ciou": 15.0}) == pytest.approx(0.4)
    assert math.isnan(compare.multi_single_ratio({"multi_entity_ciou": 6.0, "single_ciou": 0.0}))
    refs = {a: {"num_frames": 4, "clip_seconds": 0.5, "oracle": 0.8, "single_frame": 0.42, "chance": 0.4},
            b: {"num_frames": 1, "clip_seconds": 0.5, "oracle": 0.4, "single_frame": 0.42, "chance": 0.4}}
    assert compare.progress(0.6, refs[a]) == pytest.approx(0.5)  # halfway from chance 0.4 to oracle 0.8
    assert math.isnan(compare.progress(0.6, refs[b]))  # T = 1: the oracle is chance, no span
    # seeds: TAVLO 6/15 and 8/16 -> ratios 0.4, 0.5; baseline 3/15, 4/20 -> 0.2, 0.2; ratio of the means 7/15.5
    per_seed = {s: {a: {"test": {"multi_entity_ciou": m1, "single_ciou": s1}, "train_seconds": 60.0},
                    b: {"test": {"multi_entity_ciou": m2, "single_ciou": s2}, "train_seconds": 120.0}}
                for s, (m1, s1, m2, s2) in enumerate([(6.0, 15.0, 3.0, 15.0), (8.0, 16.0, 4.0, 20.0)])}
    agg = compare.aggregate(per_seed)
    row = agg["metrics"]["multi_single_ratio"]
    assert row["mean"][a] == pytest.approx(0.45) and row["mean"][b] == pytest.approx(0.2)
    assert row["diff"]["mean"] == pytest.approx(0.25) and row["diff"]["ahead"] == 2
    table = compare.format_seeds(agg, "toy", refs)
    lines = {line[:30].strip(): line for line in table.splitlines()}
    assert lines["ratio of the means"].split()[-2:] == ["0.452", "0.200"]  # 7 / 15.5 and 3.5 / 17.5
    assert lines["oracle"].split()[-2:] == ["0.800", "0.400"] and lines["chance"].split()[-2:] == ["0.400", "0.400"]
    assert lines["progress chance->oracle"].split()[-2:] == [f"{(7 / 15.5 - 0.4) / 0.4:.2f}", "-"]
    assert lines["training      minutes/seed"].split()[-2:] == ["1.0", "2.0"]


@pytest.mark.slow
def test_compare_script_runs_seeds_in_parallel_and_resumes(toy_root, tmp_path):
    tiny = [f"--model.{k}={list(v) if isinstance(v, tuple) else v}" for k, v in TINY.items()]
    cmd = [sys.executable, str(REPO / "scripts" / "compare_tavlo_baseline.py"), "--data", str(toy_root),
           "--out", str(tmp_path / "cmp"), "--quick", "--seeds", "3", "4", "--jobs", "2", "--",
           "--batch_size=2", "--eval_every=1", "--data.num_workers=0", "--threads=1", *tiny]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=400, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 seeds [3, 4]" in proc.stdout and any(r.startswith("off-screen") for r in proc.stdout.splitlines())
    saved = json.loads((tmp_path / "cmp" / "seeds.json").read_text(encoding="utf-8"))
    assert set(saved["per_seed"]) == {"3", "4"} and saved["aggregate"]["seeds"] == [3, 4]
    for seed in (3, 4):  # each seed trained both models with its own seed, sharing one warmed cache
        cfg = (tmp_path / "cmp" / f"seed{seed}" / "synth_small_tavlo" / "config.yaml").read_text(encoding="utf-8")
        assert f"seed: {seed}" in cfg
    assert list((tmp_path / "cmp" / "cache").glob("*.meta.json"))
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=100, env=env)
    assert proc.returncode == 0 and proc.stderr.count("reusing") == 2  # a rerun trains nothing again


def test_real_loader_timing_drains_the_prefetched_backlog_first(toy_root, tmp_path):
    out = tmp_path / "tp.json"
    assert throughput_main(["--device", "cpu", "--batch", "2", "--img", "64", "--negatives", "1", "--steps", "1",
                            "--warmup", "1", "--data", str(toy_root), "--workers", "2", "--no-synthetic",
                            "--model-overrides", TINY_JSON, "--out", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))["results"]["real loader"]
    assert result["warmup_steps"] == 2 * 2 + 1  # 2 workers x 2 prefetched batches, then one more

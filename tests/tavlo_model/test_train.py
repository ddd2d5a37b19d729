"""Trainer: overfitting two batches, exact resume, lr schedule, CLI end to end with inference, torchrun DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from avatar_bench.evaluate import evaluate
from avatar_bench.format import AvatarDataset
from avatar_bench.submission import open_submission
from tavlo_model import create_model
from tavlo_model.checkpoint import load_checkpoint
from tavlo_model.config import TrainConfig
from tavlo_model.engine import lr_at
from tavlo_model.infer import main as infer_main
from tavlo_model.logger import read_metrics
from tavlo_model.loss import frame_mil_loss
from tavlo_model.train import main as train_main
from tavlo_model.train import train

from .conftest import TINY, tiny_train_config

REPO = Path(__file__).resolve().parents[2]


def test_overfits_two_batches():
    torch.manual_seed(0)
    model = create_model("tavlo_r18_t4", **TINY)
    batches = [(torch.randn(2, 4, 3, 64, 64), torch.randn(2, 1, 32, 100)) for _ in range(2)]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        for frames, spec in batches:
            loss = frame_mil_loss(model(frames, spec, negatives=-1), 0.03, "mean")
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert losses[0] > 0.5 and max(losses[-4:]) < 0.01 * losses[0], losses


def test_lr_schedule_is_pure():
    cfg = TrainConfig(lr=1.0, min_lr=0.1, warmup_steps=4, schedule="cosine")
    assert [lr_at(s, cfg, 104) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_at(4, cfg, 104) == pytest.approx(1.0) and lr_at(54, cfg, 104) == pytest.approx(0.55)
    assert lr_at(104, cfg, 104) == pytest.approx(0.1) and lr_at(500, cfg, 104) == pytest.approx(0.1)
    assert lr_at(7, TrainConfig(lr=0.3), 10) == 0.3


def test_checkpoint_resume_is_bit_identical(toy_root, tmp_path):
    # 4 train videos, batch 2 -> 2 steps per epoch; stop after 1 step (mid-epoch) and resume to the end of epoch 2
    straight = train(tiny_train_config(toy_root, tmp_path / "a", epochs=2, eval_every=0))
    first = train(tiny_train_config(toy_root, tmp_path / "b", epochs=2, eval_every=0, max_steps=1))
    assert first["steps"] == 1
    resumed = train(tiny_train_config(toy_root, tmp_path / "b", epochs=2, eval_every=0, resume="auto"))
    assert straight["steps"] == resumed["steps"] == 4
    a, b = load_checkpoint(tmp_path / "a" / "last.pt"), load_checkpoint(tmp_path / "b" / "last.pt")
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a["step"] == b["step"] == 4 and a["epoch"] == b["epoch"] == 2
    assert set(a) >= {"model", "optimizer", "scaler", "config", "step", "best_score", "rng", "calibration"}
    assert a["config"]["model"]["num_frames"] == 4


def test_cli_train_then_infer_writes_a_submission(toy_root, tmp_path, capsys):
    out = tmp_path / "run"
    rc = train_main([f"--data.root={toy_root}", f"--out_dir={out}", "--batch_size=2", "--epochs=2",
                     "--data.num_workers=2", f"--data.cache_dir={tmp_path / 'cache'}", "--log_every=1", "--json",
                     *[f"--model.{k}={list(v) if isinstance(v, tuple) else v}" for k, v in TINY.items()]])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 4 and Path(summary["checkpoint"]).is_file()
    saved = (out / "config.yaml").read_text(encoding="utf-8")
    assert "img_size: 64" in saved and "cache_dir:" in saved
    rows = read_metrics(out / "metrics.csv")
    assert {r["split"] for r in rows} >= {"train", "val", "epoch"} and any(r["name"] == "center" for r in rows)
    val = {r["name"]: r["value"] for r in rows if r["split"] == "val"}
    assert {"total_ciou", "single_ciou", "off_screen_tn", "score"} <= set(val)  # avatar_bench.evaluate ran
    assert val["score"] == val["total_ciou"]
    assert any(p.name.startswith("events.out.tfevents") for p in (out / "tb").iterdir())
    assert (out / "best.pt").is_file() and len(list((tmp_path / "cache").glob("*.npy"))) == 10  # 4 train + 1 val
    sub = tmp_path / "sub.npz"
    gt_path = toy_root / "annotations" / "test.json"
    assert infer_main(["--ckpt", str(out / "best.pt"), "--gt", str(gt_path), "--videos", str(toy_root / "videos"),
                       "--out", str(sub), "--workers", "0"]) == 0
    gt = AvatarDataset.load(gt_path)
    submission = open_submission(sub, gt)  # avatar-eval validates it
    assert sorted(submission) == sorted(im.id for im in gt.images)
    for image_id in submission:
        heat = submission[image_id]
        assert heat.shape == (64, 64) and np.isfinite(heat).all() and heat.min() >= 0 and heat.max() <= 1
    assert "total_ciou" in evaluate(gt, sub).summary


def test_infer_reports_bad_input(toy_root, tmp_path, capsys):
    args = ["--gt", str(toy_root / "annotations" / "test.json"), "--videos", str(tmp_path), "--out", "x.npz"]
    assert infer_main(["--ckpt", str(tmp_path / "none.pt"), *args]) == 2
    assert "none.pt: file not found" in capsys.readouterr().err
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    assert infer_main(["--ckpt", str(junk), *args]) == 2
    assert "cannot be read" in capsys.readouterr().err


@pytest.mark.slow
def test_torchrun_two_processes_on_cpu(toy_root, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "tavlo_model.train", f"--data.root={toy_root}", f"--out_dir={out}", "--batch_size=2",
           "--epochs=1", "--data.num_workers=0", "--eval_every=0",
           *[f"--model.{k}={list(v) if isinstance(v, tuple) else v}" for k, v in TINY.items()]]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    # 4 videos over 2 ranks x batch 2 -> one step; the trainer checks that both replicas hold equal weights
    assert summary["world_size"] == 2 and summary["steps"] == 1
    assert "gloo process group: rank 1 of 2" in proc.stderr and "rank 0 of 2" in proc.stderr

"""SIGKILL ``avatar-pipeline prepare`` mid-run, rerun it: it finishes, nothing is lost or duplicated, and the
videos finished before the kill are not decoded again (each decoding pass logs one ``decode-video`` line)."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.dummies import write_clip

REPO = Path(__file__).resolve().parents[2]
N_VIDEOS = 12
SMALL = ["--set", "probe.min_short_side=64", "--set", "probe.min_duration_s=1", "--set", "frames.min_gap_s=0.3"]


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    write_clip(folder / "clip_00.mp4", width=160, height=96, duration_s=2.0, active_s=[(0.2, 1.8)])
    data = (folder / "clip_00.mp4").read_bytes()
    for i in range(1, N_VIDEOS):
        (folder / f"clip_{i:02d}.mp4").write_bytes(data)
    return folder


def _cmd(folder, work):
    return [sys.executable, "-m", "pipeline.cli", "prepare", "--source", f"dir:{folder}", "--out", str(work),
            "--workers", "1", "--no-progress", "--set", "checkpoint_every=1", *SMALL]


def _decoded(log: Path, what: str = "video") -> list[str]:
    return re.findall(rf"decode-{what} (\S+)", log.read_text(encoding="utf-8", errors="replace"))


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_sigkill_then_rerun_finishes_without_loss_or_redecoding(small_folder, tmp_path):
    work, log1, log2 = tmp_path / "work", tmp_path / "run1.log", tmp_path / "run2.log"
    with open(log1, "w") as err:
        proc = subprocess.Popen(_cmd(small_folder, work), cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        parts = work / "manifests" / "selection.parts"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if parts.is_dir() and len(list(parts.glob("*.parquet"))) >= 3:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    finished = set(pd.concat([pd.read_parquet(p) for p in parts.glob("*.parquet")])["video_id"])
    assert 3 <= len(finished) < N_VIDEOS

    with open(log2, "w") as err:
        rerun = subprocess.run(_cmd(small_folder, work), cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True)
    assert rerun.returncode == 0 and "kept: 12" in rerun.stdout
    redecoded = _decoded(log2)
    assert not set(redecoded) & finished  # finished videos are not decoded again (neither picture nor sound)
    assert not set(_decoded(log2, "audio")) & finished
    assert len(redecoded) == len(set(redecoded)) == N_VIDEOS - len(finished)
    assert set(_decoded(log1)) >= finished  # the log lines are really there

    frames = pd.read_parquet(work / "manifests" / "frames.parquet")
    selection = pd.read_parquet(work / "manifests" / "selection.parquet")
    assert frames["frame_id"].is_unique and selection["video_id"].is_unique
    assert set(selection["video_id"]) == {f"clip_{i:02d}" for i in range(N_VIDEOS)}
    assert (selection["n_frames"] > 0).all() and len(frames) == selection["n_frames"].sum()
    assert all(Path(p).is_file() for p in frames["image_path"])
    assert not (work / "manifests" / "selection.parts").exists()  # merged and cleaned


def test_cli_summary_and_errors(small_folder, tmp_path, capsys):
    assert main(["prepare", "--source", f"glob:{small_folder}/clip_0[0-1].mp4", "--out", str(tmp_path / "w"),
                 "--no-progress", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "videos listed: 2   kept: 2" in out and "selection" in out
    assert main(["prepare", "--source", "dir:/nonexistent/folder", "--out", str(tmp_path / "x")]) == 2
    assert "expected a folder" in capsys.readouterr().err
    assert main(["prepare", "--source", f"dir:{small_folder}", "--out", str(tmp_path / "y"),
                 "--set", "probe.nope=1"]) == 2
    assert "unknown key" in capsys.readouterr().err

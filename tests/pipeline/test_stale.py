"""No stale results (issue 13, item 4, prepare side): prepare records its settings, and a rerun with other
settings redoes the work they affect, or refuses naming the difference and the flag that redoes it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.dummies import write_clip
from pipeline.layout import WorkDir
from pipeline.proposals.config import ProposeConfig
from pipeline.proposals.propose import propose

SMALL = ["--set", "probe.min_short_side=64", "--set", "probe.min_duration_s=1", "--set", "frames.min_gap_s=0.3"]
N = 3


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("stale")
    write_clip(folder / "c0.mp4", width=160, height=96, duration_s=2.0, active_s=[(0.2, 1.8)])
    for i in range(1, N):
        shutil.copy(folder / "c0.mp4", folder / f"c{i}.mp4")
    return folder


def run(folder: Path, work: Path, capsys, *extra: str) -> dict:
    code = main(["prepare", "--source", f"dir:{folder}", "--work-dir", str(work), "--no-progress", "--json", *SMALL,
                 *extra])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def frames_on_disk(work: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in (work / "frames").rglob("*.jpg"):
        counts[path.parent.name] = counts.get(path.parent.name, 0) + 1
    return counts


def test_a_corrected_setting_after_a_run_that_rejected_everything_processes_every_video(folder, tmp_path, capsys):
    work = tmp_path / "work"
    first = run(folder, work, capsys, "--set", "frames.min_sharpness=1e12")  # nothing is that sharp
    assert first["kept"] == 0 and first["rejected"] == {"no_sharp_frames": N}
    again = run(folder, work, capsys)
    assert again["processed"] == N and again["kept"] == N and again["rejected"] == {}
    assert again["info"]["reset"] and "frames redone" in again["info"]["reset"][0]
    assert frames_on_disk(work) == {f"c{i}": 5 for i in range(N)}
    settings = json.loads((work / "manifests" / "prepare_settings.json").read_text())["settings"]
    assert settings["frames"]["min_sharpness"] == 1.0  # what the results were made with, now


def test_fewer_frames_per_video_redo_frame_choice_and_drop_the_extra_jpegs(folder, tmp_path, capsys):
    work = tmp_path / "work"
    run(folder, work, capsys)
    propose(work, ProposeConfig.no_weights())
    before = set(pd.read_parquet(work / "manifests" / "frames.parquet")["frame_id"])
    decoded_audio = pd.read_parquet(work / "manifests" / "activity.parquet")
    again = run(folder, work, capsys, "--frames-per-video", "3")
    assert again["processed"] == N and again["counts"]["frames"] == 3 * N
    frames = pd.read_parquet(work / "manifests" / "frames.parquet")
    assert len(frames) == 3 * N and frames.groupby("video_id").size().tolist() == [3] * N
    assert frames_on_disk(work) == {f"c{i}": 3 for i in range(N)}
    assert set(frames["image_path"]) == {str(p) for p in (work / "frames").rglob("*.jpg")}
    pd.testing.assert_frame_equal(pd.read_parquet(work / "manifests" / "activity.parquet"), decoded_audio)  # kept
    stats = propose(work, ProposeConfig.no_weights())  # proposals of frames that are gone go; new frames get theirs
    after = set(frames["frame_id"])
    assert stats.counts["stale_removed"] == len(before - after) > 0 and stats.processed == len(after - before)
    assert {p.frame_id for p in WorkDir(work).records("proposals")} == set(frames["frame_id"])
    assert run(folder, work, capsys, "--frames-per-video", "3")["processed"] == 0  # same settings: nothing redone


def test_a_changed_probe_threshold_filters_again_both_ways(folder, tmp_path, capsys):
    work = tmp_path / "work"
    strict = run(folder, work, capsys, "--set", "probe.min_duration_s=5")
    assert strict["rejected"] == {"too_short": N} and strict["kept"] == 0
    loose = run(folder, work, capsys, "--set", "probe.min_duration_s=1")
    assert loose["processed"] == N and loose["kept"] == N and "probe filter applied again" in loose["info"]["reset"][0]
    probe = pd.read_parquet(work / "manifests" / "probe.parquet")
    assert (probe["status"] == "ok").all() and len(probe) == N
    back = run(folder, work, capsys, "--set", "probe.min_duration_s=5")  # stricter again: later rows go
    assert back["kept"] == 0 and back["rejected"] == {"too_short": N} and back["counts"]["frames"] == 0
    assert not frames_on_disk(work) and len(pd.read_parquet(work / "manifests" / "activity.parquet")) == 0


def test_a_changed_activity_setting_redoes_activity_and_frames(folder, tmp_path, capsys):
    work = tmp_path / "work"
    run(folder, work, capsys)
    again = run(folder, work, capsys, "--set", "activity.min_active_s=5")  # the clips sound for 1.6 s
    assert again["processed"] == N and again["rejected"] == {"silent_audio": N} and again["counts"]["frames"] == 0
    assert not frames_on_disk(work)


def test_redo_flag_redoes_a_stage_whatever_changed(folder, tmp_path, capsys):
    work = tmp_path / "work"
    run(folder, work, capsys)
    assert run(folder, work, capsys)["processed"] == 0
    again = run(folder, work, capsys, "--redo", "activity")
    assert again["processed"] == N and again["kept"] == N


def test_clips_cut_with_other_settings_are_refused_without_redo_download(tmp_path, capsys):
    csv = tmp_path / "vgg.csv"
    csv.write_text("aaaaaaaaaaa,0,dog,train\n", encoding="utf-8")
    common = ["prepare", "--source", f"csv:{csv}", "--work-dir", str(tmp_path / "w"), "--no-progress",
              "--url-template", "http://127.0.0.1:9/{id}.mp4", "--set", "download.retries=0",
              "--set", "download.socket_timeout_s=2"]
    assert main(common) == 0  # nothing listens on the discard port: the download fails, recorded
    capsys.readouterr()
    assert main([*common, "--set", "download.clip_s=5"]) == 2
    err = capsys.readouterr().err
    assert "download.clip_s: 10.0 -> 5.0" in err and "--redo download" in err
    assert main([*common, "--set", "download.clip_s=5", "--redo", "download", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rejected"] == {"download_failed": 1} and out["counts"]["new_source_records"] == 1

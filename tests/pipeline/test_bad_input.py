"""Bad input for ``avatar-pipeline prepare`` (issue 17): each case is built for real and must end either with
exit 2 and one line naming what was expected and what arrived, before any work (nothing written), or with a
reason recorded for its record while the rest of the batch goes on. Kills: no process of the run survives."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
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
SMALL = ["--set", "probe.min_short_side=64", "--set", "probe.min_duration_s=1", "--set", "frames.min_gap_s=0.3"]
GOOD = "---g-f_I2yQ"  # a real-looking VGGSound id that begins with "-"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    write_clip(path, width=160, height=96, duration_s=2.0, active_s=[(0.2, 1.8)])
    return path


@pytest.fixture
def folder(tmp_path, clip) -> Path:
    (tmp_path / "in").mkdir()
    shutil.copy(clip, tmp_path / "in" / "good.mp4")
    return tmp_path / "in"


def prepare_cli(source: str, work: Path, *extra: str) -> int:
    return main(["prepare", "--source", source, "--work-dir", str(work), "--no-progress", *SMALL, *extra])


def final_reasons(work: Path) -> dict[str, str]:
    reasons: dict[str, str] = {}
    for stage in ("videos", "probe", "activity", "selection"):
        path = work / "manifests" / f"{stage}.parquet"
        if path.exists():
            for vid, reason in zip(*(pd.read_parquet(path)[c] for c in ("video_id", "reason")), strict=True):
                if reason or vid not in reasons:
                    reasons[vid] = reason
    return reasons


# ---------------------------------------------------------------------------------------------- settings
REFUSED = {  # case -> (extra CLI args, what the message must say)
    "url template with {foo}": (["--url-template", "https://h/{foo}.mp4"], "only {id} can be filled in"),
    "url template with an unterminated {id": (["--url-template", "https://h/{id"], "expected a URL with {id}"),
    "url template without {id}": (["--url-template", "https://h/v.mp4"], "every row would download the same"),
    "--set key=null for a number": (["--set", "probe.min_fps=null"], "setting probe.min_fps: expected float, got null"),
    "--set text for an int": (["--set", "workers=four"], "setting workers: expected int, got 'four'"),
    "--set a quoted number for an int": (["--set", "workers='4'"], "setting workers: expected int, got '4'"),
    "--set an unknown key": (["--set", "probe.min_short=1"], "did you mean 'min_short_side'?"),
    "--set an unknown section": (["--set", "prob.min_fps=1"], "did you mean 'probe'?"),
    "--set without =": (["--set", "workers"], "expected section.key=value"),
    "--set into a value": (["--set", "workers.x=1"], "setting workers: expected int, got {'x': '1'}"),
    "--frames-per-video 0": (["--frames-per-video", "0"], "setting frames.n_frames: expected at least 1 frame"),
    "--workers -1": (["--workers", "-1"], "setting workers: expected 0 (one per core) or more, got -1"),
    "max duration below min": (["--set", "probe.max_duration_s=0.5"], "probe.max_duration_s: expected null or"),
    "jpeg quality 0": (["--set", "frames.jpeg_quality=0"], "frames.jpeg_quality: expected 1..100"),
    "an unknown x264 preset": (["--set", "download.preset=warp"], "download.preset: expected one of"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_bad_settings_are_refused_before_any_work(case, folder, tmp_path, capsys):
    extra, message = REFUSED[case]
    work = tmp_path / "work"
    assert prepare_cli(f"dir:{folder}", work, *extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert not work.exists()  # refused before any work: not even the folder


def test_bad_config_files_are_refused(folder, tmp_path, capsys):
    cases = {"a list": ("- probe\n- frames\n", "expected a mapping of settings (key: value), got a list"),
             "broken YAML": ("probe: {min_fps: [\n", "expected a readable YAML/JSON mapping"),
             "a scalar": ("42\n", "expected a mapping of settings (key: value), got a int"),
             "not UTF-8": (b"\xff\xfeprobe: 1\n", "expected a readable YAML/JSON mapping"),
             "a wrong type inside": ("frames:\n  n_frames: five\n", "frames.n_frames: expected int, got 'five'"),
             "an unknown section": ("frame:\n  n_frames: 3\n", "unknown key(s) 'frame' (did you mean 'frames'?)")}
    for name, (text, message) in cases.items():
        config = tmp_path / f"{name}.yaml"
        config.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        assert prepare_cli(f"dir:{folder}", tmp_path / "w", "--config", str(config)) == 2, name
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (name, err)
        assert str(config) in err or "setting" in err or "unknown key" in err, (name, err)
        assert not (tmp_path / "w").exists()
    assert prepare_cli(f"dir:{folder}", tmp_path / "w", "--config", str(tmp_path / "none.yaml")) == 2
    assert "none.yaml" in capsys.readouterr().err


def test_bad_sources_and_work_folders_are_refused(folder, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    cases = [(f"dir:{tmp_path / 'missing'}", tmp_path / "w1", "expected a folder at"),
             (f"dir:{tmp_path / 'file'}", tmp_path / "w2", "expected a folder at"),
             (f"csv:{tmp_path / 'missing.csv'}", tmp_path / "w3", "expected a CSV file at"),
             (f"synth:{folder}", tmp_path / "w4", "expected an AVATAR-Synth folder"),
             (str(tmp_path / "nothing"), tmp_path / "w5", "expected csv:FILE, dir:DIR"),
             (f"dir:{folder}", tmp_path / "file" / "work", "expected a folder this user can write"),
             (f"dir:{folder}", Path("/proc/avatar-work"), "expected a folder this user can write")]
    for source, work, message in cases:
        assert prepare_cli(source, work) == 2, source
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (source, err)
        assert not (work / "manifests").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can list every folder: the check cannot be built as root")
def test_an_unreadable_source_folder_is_refused(folder, tmp_path, capsys):
    folder.chmod(0)
    try:
        assert prepare_cli(f"dir:{folder}", tmp_path / "w") == 2
        assert "cannot list the folder" in capsys.readouterr().err
    finally:
        folder.chmod(0o755)


def test_a_busy_work_folder_is_refused(folder, tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    with open(work / ".lock", "w") as fh:  # another run holds it
        fh.write("avatar-pipeline prepare (pid 1)\n")
        fh.flush()
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert prepare_cli(f"dir:{folder}", work) == 2
    err = capsys.readouterr().err
    assert "in use by avatar-pipeline prepare (pid 1)" in err and not (work / "manifests").exists()
    assert prepare_cli(f"dir:{folder}", work) == 0  # released: the next run goes


# ---------------------------------------------------------------------------------------------- rows
def test_bad_rows_get_a_reason_and_the_batch_goes_on(tmp_path, clip):
    """AVATAR-Synth-style source (vggsound.csv + videos/): the CSV is read by the one VGGSound row reader."""
    root = tmp_path / "synth"
    (root / "videos").mkdir(parents=True)
    good = ["aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc", "ddddddddddd"]
    for yt in good:
        shutil.copy(clip, root / "videos" / f"{yt}_000000.mp4")
    lines = ["\ufeffaaaaaaaaaaa,0,first row after a BOM,train",  # 1: the BOM must not make it a bad id
             "eeeeeeeeeee,inf,infinite start,train",  # 2
             "fffffffffff,1e308,huge start,train",  # 3
             f"ggggggggggg,0,{'x' * 70_000},train",  # 4: over the line limit
             'hhhhhhhhhhh,0,"unterminated quote,train',  # 5: must not swallow the next row
             "bbbbbbbbbbb,0,the row after the bad quote,test",  # 6
             "iiiiiiiiiii,0,unknown split,holdout",  # 7
             "short,0,bad id,train",  # 8
             "bbbbbbbbbbb,0,repeated,test",  # 9
             "ccccccccccc,0,label with a NUL \0 byte,val",  # 10: kept, the NUL is only text
             "# a comment",  # 11: ignored
             "",  # 12: ignored
             "ddddddddddd,0,\"dog, barking\",val",  # 13: a quoted comma
             "jjjjjjjjjjj,0,clip missing,val"]  # 14
    (root / "vggsound.csv").write_bytes("\n".join(lines).encode("utf-8") + b"\n\xff\xfe garbage bytes\n")
    assert prepare_cli(f"synth:{root}", tmp_path / "work") == 0
    reasons = final_reasons(tmp_path / "work")
    assert reasons == {"aaaaaaaaaaa_000000": "", "csv-line-000002": "malformed_row",
                       "csv-line-000003": "malformed_row", "csv-line-000004": "malformed_row",
                       "csv-line-000005": "malformed_row", "bbbbbbbbbbb_000000": "", "csv-line-000007": "bad_split",
                       "csv-line-000008": "bad_id", "bbbbbbbbbbb_000000#line9": "duplicate_id",
                       "ccccccccccc_000000": "", "ddddddddddd_000000": "",
                       "jjjjjjjjjjj_000000": "missing_file", "csv-line-000015": "malformed_row"}
    videos = pd.read_parquet(tmp_path / "work" / "manifests" / "videos.parquet").set_index("video_id")
    assert videos.loc["ddddddddddd_000000", "label"] == "dog, barking"
    assert "70020 characters, over 65536" in videos.loc["csv-line-000004", "detail"]
    frames = pd.read_parquet(tmp_path / "work" / "manifests" / "frames.parquet")
    assert set(frames["video_id"]) == {f"{yt}_000000" for yt in good}


# ---------------------------------------------------------------------------------------------- files
def test_links_odd_names_and_the_batch_goes_on(folder, tmp_path, clip):
    (folder / "linked.mp4").symlink_to(clip)  # a symlinked video: recorded under its own name
    (folder / "gone.mp4").symlink_to(tmp_path / "nowhere.mp4")
    (folder / "loop.mp4").symlink_to(folder / "loop2.mp4")
    (folder / "loop2.mp4").symlink_to(folder / "loop.mp4")
    shutil.copy(clip, folder / "...mp4")  # its stem is ".."
    shutil.copy(clip, folder / "-rf --no-preserve-root.mp4")  # an option-like name: no shell anywhere
    work = tmp_path / "work"
    assert prepare_cli(f"dir:{folder}", work) == 0
    reasons = final_reasons(work)
    assert reasons == {"good": "", "linked": "", "gone": "broken_link", "loop": "link_loop", "loop2": "link_loop",
                       "bad-name-1:...mp4": "bad_name", "-rf --no-preserve-root": ""}
    videos = pd.read_parquet(work / "manifests" / "videos.parquet").set_index("video_id")
    assert videos.loc["linked", "path"] == str(folder / "linked.mp4")
    assert "which is not a usable folder name" in videos.loc["bad-name-1:...mp4", "detail"]
    assert sorted(p.name for p in (work / "frames").iterdir()) == ["-rf --no-preserve-root", "good", "linked"]
    assert not list(tmp_path.glob("*.jpg")) and not list(work.glob("*.jpg"))  # nothing outside frames/


# ---------------------------------------------------------------------------------------------- kills
def _descendants(pid: int, until: float, want: int) -> list:
    import psutil

    parent = psutil.Process(pid)
    kids: list = []
    while time.monotonic() < until and len(kids) < want:
        kids = parent.children(recursive=True)
        time.sleep(0.1)
    return kids


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_kill_9_of_a_pooled_prepare_leaves_no_process_behind(tmp_path, clip):
    import psutil

    (tmp_path / "in").mkdir()
    for i in range(12):
        shutil.copy(clip, tmp_path / "in" / f"c{i:02d}.mp4")
    cmd = [sys.executable, "-m", "pipeline.cli", "prepare", "--source", f"dir:{tmp_path / 'in'}", "--work-dir",
           str(tmp_path / "work"), "--workers", "2", "--no-progress", *SMALL]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids = _descendants(proc.pid, time.monotonic() + 90, want=4)  # resource tracker, fork server, 2 workers
    assert len(kids) >= 4 and proc.poll() is None, "the run ended before its pool was up"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    alive = kids
    while alive and time.monotonic() < deadline:
        alive = [k for k in alive if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.2)
    for k in alive:  # never leave them behind, even when the test fails
        k.kill()
    assert not alive, [" ".join(k.cmdline())[:100] for k in alive]
    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)  # the lock died with the run
    assert rerun.returncode == 0 and "kept: 12" in rerun.stdout, rerun.stderr[-2000:]


def test_leftovers_of_killed_runs_are_removed(folder, tmp_path, capsys):
    work = tmp_path / "work"
    (work / "videos" / ".dl-abc123").mkdir(parents=True)  # a download folder of a killed run
    (work / "videos" / ".dl-abc123" / "full.mp4").write_bytes(b"partial")
    (work / "videos" / ".x0000000000_000000.mp4.0123456789ab.tmp").write_bytes(b"half a cut")
    (work / "frames" / "good").mkdir(parents=True)
    (work / "frames" / "good" / ".000003.jpg.0123456789ab.tmp").write_bytes(b"half a jpeg")
    (work / "frames" / "old").mkdir()
    (work / "frames" / "old" / "000001.jpg").write_bytes(b"a frame no row lists")
    assert prepare_cli(f"dir:{folder}", work, "--json") == 0
    assert json.loads(capsys.readouterr().out)["counts"]["leftovers_removed"] == 3
    assert not list(work.rglob(".dl-*")) and not list(work.rglob("*.tmp"))
    assert not (work / "frames" / "old").exists()  # frames no kept row points to are removed too
    assert sorted(p.parent.name for p in (work / "frames").rglob("*.jpg")) == ["good"] * 5

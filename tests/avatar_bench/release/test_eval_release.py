"""``avatar-eval --gt METADATA_DIR``: scoring against a release folder, the content-hash cache, release keys."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from avatar_bench.cli import main
from avatar_bench.release import cache_dir, load_release
from avatar_bench.submission import write_submission
from avatar_bench.testing import make_submission


@pytest.fixture
def release(release5, tmp_path):
    """A private copy of the release (tests edit it)."""
    shutil.copytree(release5.metadata, tmp_path / "metadata")
    return tmp_path / "metadata", release5.keys


@pytest.fixture
def submission(synth5_gt, release5, tmp_path):
    """A "shifted" submission keyed the release's way, <folder>/<frame:05d>."""
    heat = make_submission(synth5_gt, "shifted", size=(45, 80), seed=2)
    path = tmp_path / "sub.npz"
    write_submission(path, {release5.keys[i]: heat[i] for i in heat})
    return path


def test_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AVATAR_HOME", str(tmp_path / "h"))
    assert cache_dir() == tmp_path / "h" / "cache" / "release"
    monkeypatch.delenv("AVATAR_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "avatar" / "cache" / "release"


def test_avatar_eval_scores_a_release_folder_with_release_keys(release, submission, synth5_gt, tmp_path, capsys):
    meta, _ = release
    out = tmp_path / "results"
    assert main(["--gt", str(meta), "--pred", str(submission), "--out", str(out), "--no-plots", "-q"]) == 0
    captured = capsys.readouterr()
    assert "the released benchmark, 25 frames (imported, cached as" in captured.err
    assert "single        CIoU" in captured.out
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["protocol"]["name"] == "lvs-native" and results["summary"]["n_frames"] == 25
    again = tmp_path / "again"
    assert main(["--gt", str(meta), "--pred", str(submission), "--out", str(again), "--no-plots", "-q"]) == 0
    assert "(cached import " in capsys.readouterr().err
    assert json.loads((again / "results.json").read_text())["summary"] == results["summary"]


def test_the_cache_is_keyed_by_content_and_never_stale(release):
    meta, keys = release
    first, info = load_release(meta)
    assert not info.cached and info.path.parent == cache_dir()
    assert load_release(meta)[1].cached
    one = meta / f"{keys[next(iter(keys))]}.json"
    frame = json.loads(one.read_text())
    frame["annotations"][0]["task"] = "Mixed-sound" if frame["annotations"][0]["task"] != "Off-Screen" else "Off-Screen"
    frame["extra_note"] = "edited"
    one.write_text(json.dumps(frame))
    os.utime(one, ns=(1, 1))  # even an old mtime: the content decides
    edited, info = load_release(meta)
    assert not info.cached and len(list(cache_dir().glob("*.json"))) == 2
    im = next(i for i in edited.images if i.extra.get("release_fields") == {"source_frame": i.frame_index,
                                                                             "extra_note": "edited"})
    assert im is not None
    assert load_release(meta, task_map={"mixedsound": "mixed"})[1].cached is False  # options are part of the key
    info.path.write_text("{ corrupted")
    again, info2 = load_release(meta)
    assert not info2.cached and again.to_dict() == edited.to_dict()  # rebuilt from the release
    assert not any(p.name.endswith(".tmp") for p in cache_dir().iterdir())  # written atomically


def test_errors_in_a_release_folder_exit_2_and_cache_nothing(release, submission, capsys):
    meta, keys = release
    (meta / f"{keys[next(iter(keys))]}.json").write_text('{"original_width": 1')
    assert main(["--gt", str(meta), "--pred", str(submission), "-q"]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON" in err and "Traceback" not in err
    assert not cache_dir().exists() or not any(cache_dir().iterdir())


def test_task_map_reaches_the_import_and_is_refused_for_a_file(release, submission, synth5, capsys):
    meta, keys = release
    for path in meta.rglob("*.json"):
        path.write_text(path.read_text().replace('"Mixed-sound"', '"Duet"'))
    assert main(["--gt", str(meta), "--pred", str(submission), "-q"]) == 2
    assert "unknown task 'Duet'" in capsys.readouterr().err
    assert main(["--gt", str(meta), "--pred", str(submission), "-q", "--task-map", "duet=mixed"]) == 0
    code = main(["--gt", str(synth5 / "annotations" / "test.json"), "--pred", str(submission), "--task-map", "a=b"])
    assert code == 2 and "--task-map applies to a release folder" in capsys.readouterr().err

"""A dirty release: every error class (exit 2, no traceback, nothing written) and every warning (counted, listed,
the import goes on), through the library and through ``avatar-data``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from avatar_bench.data_cli import main
from avatar_bench.errors import ReleaseError
from avatar_bench.release import import_release

from .conftest import SQUARE, frame, write_frames

REPO = Path(__file__).resolve().parents[3]
GOOD = {"abcdefghijk_00010/00005": frame(polygons=SQUARE)}


def _errors(root: Path, **kw) -> list[str]:
    with pytest.raises(ReleaseError) as info:
        import_release(root, **kw)
    return info.value.problems


@pytest.mark.parametrize("bad, expected", [
    (b'{"original_width": 64, "original_height": 48, "annotations": [', "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    ("[1, 2]", "expected a JSON object, got list"),
    ({"original_height": 48, "annotations": []}, "missing 'original_width'"),
    ({"original_width": "64", "original_height": 48, "annotations": []}, "expected 'original_width' as a positive"),
    ({"original_width": 64, "original_height": -1, "annotations": []}, "expected 'original_height' as a positive"),
    ({"original_width": 64, "original_height": 48}, "missing 'annotations'"),
    ({"original_width": 64, "original_height": 48, "annotations": [{"task": "Off-Screen"}]},
     "expected text in ['audio_visual_category']"),
    ({"original_width": 64, "original_height": 48, "annotations": [
        {"task": "Single-sound", "audio_visual_category": "dog", "segmentation": SQUARE},
        {"task": "Mixed-sound", "audio_visual_category": "cat", "segmentation": SQUARE}]}, "disagree on the task"),
    (frame(polygons="x"), "expected a list of polygons, got str"),
    (frame(polygons={"size": [10, 10], "counts": "abc"}), "an RLE of size [48, 64]"),
])
def test_each_error_names_its_file(tmp_path, bad, expected):
    write_frames(tmp_path, {**GOOD, "abcdefghijk_00010/00007": bad})
    problems = _errors(tmp_path)
    assert len(problems) == 1 and problems[0].startswith("abcdefghijk_00010/00007.json: ") and expected in problems[0]


def test_unknown_tasks_are_listed_with_counts_and_the_mapping_option(tmp_path):
    write_frames(tmp_path, {**GOOD, "abcdefghijk_00010/00007": frame("Duet", SQUARE),
                            "abcdefghijk_00010/00008": frame("Duet", SQUARE),
                            "bbbbbbbbbbb_00000/00001": frame("Silence")})
    problems = _errors(tmp_path)
    assert problems[0].startswith("unknown task 'Duet' in 2 frame(s), e.g. abcdefghijk_00010/00007.json")
    assert "--task-map 'Duet=SCENARIO'" in problems[0] and "unknown task 'Silence' in 1 frame(s)" in problems[1]
    assert len(import_release(tmp_path, task_map={"duet": "mixed", "silence": "off_screen"}).dataset.images) == 4


def test_layout_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReleaseError, match="empty folder"):
        import_release(tmp_path / "empty")
    with pytest.raises(ReleaseError, match="not found"):
        import_release(tmp_path / "nowhere")
    release = write_frames(tmp_path / "AVATAR" / "metadata", GOOD)
    with pytest.raises(ReleaseError) as info:  # the folder above metadata/: not the release, with the hint
        import_release(tmp_path / "AVATAR")
    assert "not the release" in str(info.value) and f"pass {release}" in info.value.problems[0]
    with pytest.raises(ReleaseError) as info:  # one video folder: its parent is meant
        import_release(release / "abcdefghijk_00010")
    assert "pass the folder above it" in info.value.problems[0]
    (release / "nostart").mkdir()
    (release / "nostart" / "00001.json").write_text(json.dumps(frame(polygons=SQUARE)))
    (release / "ccccccccccc_00001").mkdir()
    (release / "ccccccccccc_00001" / "00001.jpg").touch()
    write_frames(release, {"ddddddddddd_00001/00001": frame(polygons=SQUARE),
                           "ddddddddddd_00001/001": frame(polygons=SQUARE)})
    problems = _errors(release)
    assert any(p.startswith("nostart/: expected a folder named '<youtube_id>_<start seconds>'") for p in problems)
    assert any(p.startswith("ccccccccccc_00001/: no '<frame>.json' file") for p in problems)
    assert any("frame 1 is also" in p for p in problems) and len(problems) == 3


def test_warnings_are_counted_and_the_import_goes_on(tmp_path):
    root = write_frames(tmp_path, {
        **GOOD,
        "abcdefghijk_00010/00006": frame(polygons=[[-5, -5, 20, -5, 20, 20, -5, 20]]),  # clipped to the frame
        "abcdefghijk_00010/00007": frame(polygons=SQUARE + [[1, 1, 5, 5]]),  # a 2-point polygon dropped
        "abcdefghijk_00010/00008": frame(polygons=SQUARE + [[1, 2, 3], [1, "x", 3, 4, 5, 6]]),  # malformed
        "abcdefghijk_00010/00009": frame(polygons=[[1, 1, 5, 5]]),  # nothing left: frame unscorable
        "abcdefghijk_00010/00010": frame("Off-Screen", polygons=SQUARE),  # an off-screen mask is ignored
        "abcdefghijk_00010/00011": {"original_width": 64, "original_height": 48, "annotations": []},
        "abcdefghijk_00010/00012": frame("Single-sound", SQUARE) | {"annotations": [
            {"task": "Single-sound", "audio_visual_category": "dog", "segmentation": SQUARE},
            {"task": "Single-sound", "audio_visual_category": "cat", "segmentation": SQUARE}]},
        "abcdefghijk_00010/00013": frame(polygons=[[0, 0, 10, 0, 20, 0]]),  # collinear: no pixel, frame left out
    })
    (root / "abcdefghijk_00010" / "00005.jpg").unlink()
    (root / "abcdefghijk_00010" / "notes.txt").write_text("hello")
    result = import_release(root)
    codes = {p.code: p for p in result.warnings}
    assert set(codes) == {"points_clipped", "short_polygon", "malformed_polygon", "no_mask", "empty_mask",
                          "unscorable_frame", "offscreen_mask", "no_annotation", "scenario_rule", "missing_image",
                          "unexpected_file"}
    assert [p.path for p in result.warnings if p.code == "unscorable_frame"] == [
        "abcdefghijk_00010/00009.json", "abcdefghijk_00010/00013.json"]
    assert str(codes["points_clipped"]) == ("abcdefghijk_00010/00006.json annotation 0 polygon 0: 3 of 4 point(s) "
                                            "outside the 64x48 frame, clipped to it")
    assert str(codes["missing_image"]).startswith("abcdefghijk_00010/00005.json: no image for frame 5")
    assert "exactly one sounding instance, found 2" in codes["scenario_rule"].detail
    ds = result.dataset
    assert sorted(im.frame_index for im in ds.images) == [5, 6, 7, 8, 10, 12]  # 9 and 11 left out, with reasons
    clipped = next(a for a in ds.annotations if ds.image_by_id[a.image_id].frame_index == 6)
    assert clipped.area == 20 * 20 and clipped.bbox == [0.0, 0.0, 20.0, 20.0]  # clipped to [0, 20]: centres 0..19
    assert ds.info["import"]["warnings"]["points_clipped"] == 1
    ds.validate()


def test_no_images_anywhere_is_one_warning_and_a_parallel_tree_is_found(tmp_path):
    write_frames(tmp_path / "metadata", GOOD, images=False)
    result = import_release(tmp_path / "metadata")
    assert [p.code for p in result.warnings] == ["no_images"]
    (tmp_path / "frames" / "abcdefghijk_00010").mkdir(parents=True)
    (tmp_path / "frames" / "abcdefghijk_00010" / "00005.jpg").touch()
    result = import_release(tmp_path / "metadata")
    assert result.warnings == [] and result.layout.frames_root == tmp_path / "frames"
    assert result.dataset.info["import"]["images"] == "parallel tree"


def test_cli_prints_the_report_and_exits_2_on_errors_writing_nothing(tmp_path, capsys):
    root = write_frames(tmp_path / "m", {**GOOD, "abcdefghijk_00010/00006": frame(polygons=SQUARE + [[0, 0, 1, 1]])})
    out, report = tmp_path / "test.json", tmp_path / "report.json"
    assert main(["import-release", str(root), "--out", str(out), "--report", str(report), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "frames               2" in printed and "  single             2" in printed
    assert "warning short_polygon x1" in printed and "abcdefghijk_00010/00006.json annotation 0 polygon 1" in printed
    assert "timestamps unset: imported without --videos" in printed and out.is_file()
    assert json.loads(report.read_text())["problems"][0]["code"] == "short_polygon"
    assert main(["info", str(out)]) == 0
    assert "not annotated (sounding objects only" in capsys.readouterr().out
    write_frames(root, {"abcdefghijk_00010/00007": "{nope"})
    out.unlink()
    assert main(["import-release", str(root), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "1 error(s) in the release; nothing was written" in err and "00007.json: not valid JSON" in err
    assert not out.exists() and "Traceback" not in err
    assert main(["import-release", str(root), "--out", str(out), "--task-map", "nonsense"]) == 2
    assert "expected 'TASK STRING=SCENARIO'" in capsys.readouterr().err


def test_videos_without_pyav_name_the_extra(tmp_path):
    root = write_frames(tmp_path / "m", GOOD)
    code = ("import sys; sys.modules['av'] = None\nfrom avatar_bench.data_cli import main\n"
            f"sys.exit(main(['import-release', {str(root)!r}, '--videos', {str(tmp_path)!r}, '--out', 'x.json']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and "pip install -e '.[release]'" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x.json").exists()


def test_missing_and_broken_videos_are_warnings(release5, tmp_path):
    videos = tmp_path / "video"
    videos.mkdir()
    names = sorted(p.name for p in release5.videos.iterdir())
    (videos / names[0]).write_bytes((release5.videos / names[0]).read_bytes())
    (videos / names[1]).write_bytes(b"not an mp4")
    result = import_release(release5.metadata, videos=videos)
    codes = [p.code for p in result.warnings]
    assert codes.count("video_missing") == len(names) - 2 and codes.count("video_unreadable") == 1
    ds = result.dataset
    stamped = {v.name for v in ds.videos if v.fps}
    assert stamped == {names[0][:-4]}
    assert all((im.timestamp_s is None) == (ds.video_by_id[im.video_id].name not in stamped) for im in ds.images)
    with pytest.raises(ReleaseError, match="expected the folder of the release's videos"):
        import_release(release5.metadata, videos=tmp_path / "nope")


def test_cli_prints_every_problem_unless_brief(tmp_path, capsys):
    many = {f"abcdefghijk_00010/{k:05d}": frame(polygons=SQUARE + [[0, 0, 1, 1]]) for k in range(25)}
    root = write_frames(tmp_path / "m", many)
    assert main(["import-release", str(root), "--out", str(tmp_path / "a.json"), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "warning short_polygon x25" in printed and printed.count("polygon 1: 2 point(s)") == 25
    assert main(["import-release", str(root), "--out", str(tmp_path / "b.json"), "-q", "--brief"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("polygon 1: 2 point(s)") == 20 and "... and 5 more" in printed


def test_json_prints_one_object_on_stdout_and_the_table_on_stderr(tmp_path, capsys):
    many = {f"abcdefghijk_00010/{k:05d}": frame(polygons=SQUARE + [[0, 0, 1, 1]]) for k in range(3)}
    root, out = write_frames(tmp_path / "m", many), tmp_path / "a.json"
    assert main(["import-release", str(root), "--out", str(out), "-q", "--json"]) == 0
    printed = capsys.readouterr()
    found = json.loads(printed.out)  # stdout is the object alone
    assert found["out"] == str(out) and found["import"]["timestamps"] == "unset: imported without --videos"
    assert [p["code"] for p in found["problems"]] == ["short_polygon"] * 3
    assert found["summary"]["frames"] == 3 and found["summary"]["frames_per_scenario"]["single"] == 3
    assert "warning short_polygon x3" in printed.err and "wrote" in printed.err
    assert main(["info", str(out), "--json"]) == 0
    printed = capsys.readouterr()
    info = json.loads(printed.out)
    assert info["file"] == str(out) and info["summary"] == found["summary"] and info["problems"] == []
    assert str(out) in printed.err  # the table's title

"""The avatar-synth command line: bad arguments give one line and status 2; the subcommands work."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from avatar_bench.format import SCENARIOS, AvatarDataset
from avatar_bench.synth.cli import main


def test_bad_arguments_print_one_line_and_exit_2(tmp_path, capsys):
    proc = subprocess.run([sys.executable, "-m", "avatar_bench.synth.cli", "generate", "--out", str(tmp_path / "x"),
                           "--preset", "huge"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "avatar-synth: error: argument --preset: invalid choice: 'huge' (choose from 'full', 'small', 'tiny')"]
    for argv in (["generate", "--out", str(tmp_path / "x"), "--workers", "two"],
                 ["generate", "--out", str(tmp_path / "x"), "--width", "641"],
                 ["generate", "--out", str(tmp_path / "x"), "--duration", "1"],
                 ["frobnicate"]):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse errors
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("avatar-synth: error:"), err
    assert not (tmp_path / "x").exists()


def test_contact_sheet_and_cue_check_commands(tiny, tmp_path, capsys):
    out, _ = tiny
    png = tmp_path / "sheet.png"
    assert main(["contact-sheet", "--data", str(out), "--out", str(png), "--scenario", "multi_entity"]) == 0
    assert 0 < png.stat().st_size < 300_000
    val = AvatarDataset.load(out / "annotations" / "val.json")
    absent = sorted(set(SCENARIOS) - {im.scenario for im in val.images})[0]  # one cross-event clip: 2 at most
    assert main(["contact-sheet", "--data", str(out), "--out", str(png), "--split", "val",
                 "--scenario", absent]) == 2
    capsys.readouterr()
    assert main(["check-cue", "--data", str(out), "--window", "2", "--json", "--frames", "1", "4", "16",
                 "--clip-seconds", "1", "4"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frames"] >= 5 and result["temporal_accuracy"] >= 0.95
    assert max(result["single_frame_brightest"], result["single_frame_largest"]) <= 0.8  # ~chance (1/k)
    grid = {(g["num_frames"], g["clip_seconds"]): g for g in result["model_view"]["grid"]}
    assert set(grid) == {(t, c) for t in (1, 4, 16) for c in (1.0, 4.0)}
    for cell in grid.values():
        assert cell["chance"] == pytest.approx(result["chance"]) and cell["segment_s"] == cell["clip_seconds"] / \
            cell["num_frames"]
        assert cell["single_frame"] == max(result["single_frame_brightest"], result["single_frame_largest"])
    assert grid[(1, 1.0)]["temporal"] == pytest.approx(result["chance"])  # one frame: no timing, every twin ties
    assert grid[(16, 1.0)]["temporal"] >= 0.9 > grid[(1, 1.0)]["temporal"]
    assert main(["check-cue", "--data", str(out), "--frames", "4", "--clip-seconds", "1"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("envelope view,") and "T \\ clip_seconds" in text and "chance" in text
    assert main(["contact-sheet", "--data", str(out), "--out", str(png), "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["contact-sheet", "--data", str(out), "--out", str(png), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"out": str(png), "frames": 4}


def test_generate_prints_a_summary_json_or_nothing(tiny, capsys):
    out, summary = tiny
    assert main(["generate", "--preset", "tiny", "--out", str(out), "--json"]) == 0  # a rerun: every clip is kept
    got = json.loads(capsys.readouterr().out)
    assert got["videos"] == summary["videos"] and got["kept"] == summary["videos"] and got["made"] == 0
    assert main(["generate", "--preset", "tiny", "--out", str(out), "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["generate", "--preset", "tiny", "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {summary['videos']} clips of the tiny preset")


def test_help_shows_defaults(capsys):
    for sub in ("generate", "check-cue", "contact-sheet"):
        with pytest.raises(SystemExit):
            main([sub, "--help"])
        text = capsys.readouterr().out
        assert "default" in text, sub
    with pytest.raises(SystemExit):
        main(["check-cue", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 2.0)" in text and "(default: [1, 2, 4, 8, 16])" in text and "(default: False)" not in text


@pytest.mark.parametrize("argv", [["generate"], ["contact-sheet", "--data", "x"]])
def test_missing_required_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2

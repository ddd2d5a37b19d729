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
    assert main(["check-cue", "--data", str(out), "--window", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frames"] >= 5 and result["temporal_accuracy"] >= 0.95
    assert max(result["single_frame_brightest"], result["single_frame_largest"]) <= 0.8  # ~chance (1/k)


@pytest.mark.parametrize("argv", [["generate"], ["contact-sheet", "--data", "x"]])
def test_missing_required_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2

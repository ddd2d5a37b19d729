"""``avatar-pipeline`` commands agree: the same flags everywhere, their own help, defaults shown, a fast ``--help``
(no heavy import), ``-q`` / ``--json`` output, progress bars only on a terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.dummies import write_clip

REPO = Path(__file__).resolve().parents[2]
COMMANDS = [["prepare"], ["propose"], ["review", "push"], ["review", "pull"], ["review", "status"], ["export"]]
HEAVY = ("torch", "pandas", "librosa", "cv2", "ultralytics", "label_studio_sdk", "prefect", "segment_anything")


def help_text(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_every_command_takes_the_same_flags_and_shows_defaults(argv, capsys):
    text = help_text(argv, capsys)
    for flag in ("--work-dir", "-q, --quiet", "-v, --verbose", "--json", "--no-progress", "--config FILE",
                 "--set SECTION.KEY=VALUE"):
        assert flag in text, (argv, flag)
    assert "(default:" in text and f"avatar-pipeline {' '.join(argv)}" in text


def test_review_actions_have_their_own_help(capsys):
    push, pull, status = (help_text(["review", a], capsys) for a in ("push", "pull", "status"))
    assert "send the batch's proposals" in push and "merge verified annotations" in pull
    assert "--out" in pull and "--out" not in status
    assert "--out" in push and "--dry-run" in push and "--dry-run" not in pull  # push --dry-run --out tasks.json
    assert "--no-playback" in push and "--cut-seconds" in push and "--cut-seconds" not in pull
    assert "(default: 100)" in push  # the chunk size: ReviewConfig's default
    models = help_text(["models", "check"], capsys)
    assert "--json" in models and "-q, --quiet" in models


def test_help_imports_no_heavy_library():
    code = ("import sys\nfrom pipeline.cli import main\n"
            "for argv in (['prepare'], ['propose'], ['review', 'pull'], ['export'], ['models', 'list']):\n"
            "    try:\n        main([*argv, '--help'])\n    except SystemExit:\n        pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_outputs_old_flag_spelling_and_no_bars_off_a_terminal(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    write_clip(tmp_path / "in" / "a.mp4", width=160, height=96, duration_s=2.0, active_s=[(0.2, 1.8)])
    small = ["--set", "probe.min_short_side=64", "--set", "probe.min_duration_s=1", "--set", "frames.min_gap_s=0.3"]
    args = ["prepare", "--source", f"dir:{tmp_path / 'in'}", *small]
    assert main([*args, "--work-dir", str(tmp_path / "w"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kept"] == 1
    assert main([*args, "--work-dir", str(tmp_path / "w"), "-q"]) == 0
    assert capsys.readouterr().out == "prepare: 1 videos, 5 frames, 0 rejected\n"
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", *args, "--out", str(tmp_path / "old")], cwd=REPO,
                          capture_output=True, text=True)  # the old spelling of --work-dir, still accepted
    assert proc.returncode == 0 and "kept: 1" in proc.stdout and (tmp_path / "old" / "manifests").is_dir()
    assert "--out is deprecated: use --work-dir" in proc.stderr
    assert "\r" not in proc.stderr and "video/s" not in proc.stderr  # stderr is a pipe: no progress bars

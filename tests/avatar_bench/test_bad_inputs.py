"""Every case of the bad-input corpus through the real CLI (``python -m avatar_bench.cli``), in both modes.

A bad input exits 2 with a message naming its record, never a traceback, and prints nothing on stdout;
``--validate-only`` gives exactly the same answer as scoring (same exit status, same message), since it
runs the same checks. Cases that must score (exit 0) score in both modes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.avatar_bench.bad_frames import FRAME_CASES
from tests.avatar_bench.bad_gt import GOOD_GT_CASES, GT_CASES
from tests.avatar_bench.bad_inputs import Case
from tests.avatar_bench.bad_submissions import SUB_CASES

REPO = Path(__file__).resolve().parents[2]
ALL_CASES = GT_CASES + GOOD_GT_CASES + SUB_CASES + FRAME_CASES


def _cli(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "avatar_bench.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[tuple[str, bool], subprocess.CompletedProcess]:
    """Every case in both modes, two processes at a time (each is a real ``avatar-eval`` run)."""
    root = tmp_path_factory.mktemp("bad_inputs")
    runs = {}
    for case in ALL_CASES:
        gt, sub, args = case.build(root)
        for validate_only in (False, True):
            runs[(case.name, validate_only)] = ["--gt", str(gt), "--pred", str(sub), "-q", *args,
                                                *(["--validate-only"] if validate_only else [])]
    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(runs, pool.map(_cli, runs.values()), strict=True))
    return done


def test_the_corpus_covers_every_class_of_the_issue():
    names = [c.name for c in ALL_CASES]
    assert len(names) == len(set(names))
    kinds = Counter(c.stands_for for c in ALL_CASES)
    for kind in ("RLE runs", "ids", "foreign keys", "JSON", "sizes", "scenario rules", "empty ground truth",
                 "file names", "zip data", "zip headers", "npy headers", "keys", "frames and outputs"):
        assert kinds[kind] >= 1, kind
    assert len(ALL_CASES) >= 80


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_bad_input_exits_with_a_message_naming_the_record(case: Case, outcomes):
    scored, checked = outcomes[(case.name, False)], outcomes[(case.name, True)]
    for proc in (scored, checked):
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode == case.exit_code, (proc.returncode, proc.stderr)
    for text in case.expected:
        assert text in scored.stderr, (text, scored.stderr)
    if case.exit_code == 2:
        assert scored.stdout == checked.stdout == ""
        assert "avatar-eval: error: " in scored.stderr
        assert checked.stderr == scored.stderr  # --validate-only runs exactly the checks scoring runs
    else:
        assert "total         CIoU" in scored.stdout and "valid submission" in checked.stdout
        if not case.scoring_only:
            assert checked.stderr == scored.stderr


def test_frames_outside_the_root_are_never_opened(outcomes, tmp_path_factory):
    proc = outcomes[("symlink_out_of_frames", False)]
    assert proc.returncode == 0
    out = Path(next(a for a in proc.args if "out_symlink_out_of_frames" in a))
    plots = {p.name for p in (out / "plots").iterdir()}
    assert {"scenarios.png", "tn_vs_tau.png", "success.png"} <= plots
    assert not any(p.startswith("overlay_") for p in plots)  # every frame led outside: none was drawn
    assert (out / "results.json").is_file()


def test_a_truncated_frame_image_costs_its_overlay_only(outcomes):
    proc = outcomes[("truncated_jpeg", False)]
    out = Path(next(a for a in proc.args if "out_truncated_jpeg" in a))
    assert (out / "results.json").is_file() and (out / "per_frame.csv").is_file()
    assert proc.stderr.count("overlay skipped") >= 6

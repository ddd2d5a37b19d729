"""The bad-input corpus of avatar-eval (issue 17): what a case is, the valid inputs it breaks, and helpers.

Each case builds its files under a folder and says what the message must contain: the record it concerns
(an annotation, an image, a frame and its file) and what was wrong. The cases are in
``tests/avatar_bench/bad_gt.py`` (ground truth: a valid file mutated as a dict, or raw text where JSON
itself is the problem) and ``tests/avatar_bench/bad_submissions.py`` (submissions, frames and outputs for
the valid ground truth). ``tests/avatar_bench/test_bad_inputs.py`` runs every case through the real CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from avatar_bench.submission import write_submission
from avatar_bench.testing import make_gt, make_submission


def base_gt():
    """12 frames at 64x36 in 4 videos, three of each scenario (see the ids used below)."""
    return make_gt(12, width=64, height=36, seed=11, frames_per_video=3)


@dataclass
class Case:
    """One bad input: ``build(folder) -> (gt path, submission path, extra CLI args)`` and the expected text."""

    name: str
    build: Callable[[Path], tuple[Path, Path, list[str]]]
    expected: list[str]
    kind: str = "gt"  # gt | submission | frames
    exit_code: int = 2
    stands_for: str = ""  # the class of bad input this case is one instance of
    scoring_only: bool = False  # the expected text comes from writing outputs (--validate-only writes none)


def write_good(folder: Path) -> tuple[Path, Path]:
    gt = base_gt()
    gt_path, sub_path = folder / "test.json", folder / "sub.npz"
    if not gt_path.exists():
        gt.save(gt_path)
        write_submission(sub_path, make_submission(gt, "blob", size=(16, 16)))
    return gt_path, sub_path


def encode_runs(runs: list[int]) -> str:
    """Compressed counts of any run list, negative runs and wrong totals included (pycocotools' rleToString)."""
    out = []
    for i, c in enumerate(runs):
        x = c - runs[i - 2] if i > 2 else c
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = not ((ch & 0x10 == 0 and x == 0) or (ch & 0x10 and x == -1))
            out.append(chr(ch + (0x20 if more else 0) + 48))
    return "".join(out)

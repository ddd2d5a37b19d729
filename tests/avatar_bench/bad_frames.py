"""Broken frames and outputs (``--frames``, ``--out``) for the valid GT and submission of :mod:`bad_inputs`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.avatar_bench.bad_inputs import Case, base_gt, write_good


def _frames_case(name: str, spoil: Callable[[Path, Path], list[str]], expected: list[str], exit_code: int,
                 scoring_only: bool = True) -> Case:
    """``spoil(frames root, folder) -> extra args`` breaks a folder of good frame images."""
    def build(folder: Path) -> tuple[Path, Path, list[str]]:
        from PIL import Image

        gt_path, sub_path = write_good(folder)
        frames = folder / f"frames_{name}"
        for im in base_gt().images:
            (frames / im.file_name).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (im.width, im.height), (90, 120, 60)).save(frames / im.file_name)
        args = spoil(frames, folder)
        return gt_path, sub_path, ["--out", str(folder / f"out_{name}"), *args]

    return Case(name, build, expected, "frames", exit_code=exit_code, stands_for="frames and outputs",
                scoring_only=scoring_only)


def _truncate_all(frames: Path, folder: Path) -> list[str]:
    for path in frames.rglob("*.jpg"):
        path.write_bytes(path.read_bytes()[:200])
    return ["--frames", str(frames)]


def _link_out(frames: Path, folder: Path) -> list[str]:
    secret = folder / "outside.jpg"
    (frames / base_gt().images[0].file_name).rename(secret)
    for im in base_gt().images:
        (frames / im.file_name).unlink(missing_ok=True)
        (frames / im.file_name).symlink_to(secret)
    return ["--frames", str(frames)]


def _frames_file(frames: Path, folder: Path) -> list[str]:
    return ["--frames", str(frames / base_gt().images[0].file_name)]


def _out_file(frames: Path, folder: Path) -> list[str]:
    (folder / "taken").write_text("x")
    return ["--frames", str(frames), "--out", str(folder / "taken")]


FRAME_CASES: list[Case] = [
    _frames_case("truncated_jpeg", _truncate_all, ["WARNING: frame dm000000001_000000/000058 (image 3): ",
                                                   "frames_truncated_jpeg/dm000000001_000000/000058.jpg: "
                                                   "unreadable image (", "overlay skipped"], 0),
    _frames_case("symlink_out_of_frames", _link_out, ["leads outside the frames root", "not opened",
                                                      "overlay skipped"], 0),
    _frames_case("frames_not_a_directory", _frames_file, ["--frames", "expected a directory of frame images"], 2,
                 scoring_only=False),
    _frames_case("out_is_a_file", _out_file, ["--out", "taken: exists and is not a directory"], 2,
                 scoring_only=False),
]

"""What can be wrong with a release folder: one :class:`Problem` per finding, an error or a warning by its code.

Errors stop the import (exit 2, nothing written) and are all reported together; warnings are counted, listed
in the report and written into the imported file's ``info.import.warnings`` while the import goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

ERRORS = {
    "not_found": "the folder does not exist or is not a folder",
    "empty_folder": "a folder with nothing to import",
    "not_release": "not the release's metadata folder",
    "no_start": "a video folder name without '_<start seconds>'",
    "duplicate_frame": "two files for one frame",
    "malformed_json": "not valid JSON, or not a JSON object",
    "missing_size": "original_width / original_height missing or not a positive integer",
    "malformed_frame": "'annotations' missing or not a list",
    "malformed_annotation": "an annotation that is not an object with a text task and audio_visual_category, "
                            "or a segmentation that is neither polygons nor an RLE of the frame's size",
    "unknown_task": "a task string that names no scenario (map it with --task-map)",
    "task_conflict": "annotations of one frame with different tasks",
}
WARNINGS = {
    "points_clipped": "polygon points outside the frame, clipped to it",
    "short_polygon": "a polygon of fewer than 3 points, dropped",
    "malformed_polygon": "a polygon with non-numeric, non-finite or an odd number of coordinates, dropped",
    "no_mask": "an on-screen annotation without a usable polygon, dropped (its category is still heard)",
    "empty_mask": "an on-screen annotation whose polygons cover no pixel, dropped (its category is still heard)",
    "offscreen_mask": "an Off-Screen annotation with a mask: the mask is ignored",
    "no_annotation": "a frame without annotations (no scenario), left out",
    "unscorable_frame": "an on-screen frame with no usable mask, left out (it cannot be scored)",
    "scenario_rule": "a frame whose tag breaks the scenario rule (kept with the release's tag)",
    "missing_image": "a frame JSON whose image is missing",
    "no_images": "no frame image found at all",
    "unexpected_file": "a file that is not a frame JSON or image, ignored",
    "video_missing": "a video folder without its .mp4 (with --videos), fps and timestamps unset",
    "video_unreadable": "an .mp4 that cannot be probed, fps and timestamps unset",
    "frame_beyond_video": "a frame number past the video's frame count, its timestamp unset",
    "size_mismatch": "a frame whose original size differs from its video's or its other frames'",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: its code (a key of :data:`ERRORS` or :data:`WARNINGS`), the file it concerns, what is wrong."""

    code: str
    path: str  # relative to the metadata folder ("." for the folder itself)
    detail: str
    value: str = ""  # the offending value, for grouping (an unknown task string)

    @property
    def is_error(self) -> bool:
        return self.code in ERRORS

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def counts(problems: Iterable[Problem]) -> dict[str, int]:
    """Problems per code, in the order of :data:`ERRORS` then :data:`WARNINGS`."""
    found = Counter(p.code for p in problems)
    return {code: found[code] for code in (*ERRORS, *WARNINGS) if found[code]}


def format_problems(problems: list[Problem], per_code: int | None = None) -> list[str]:
    """Report lines: one header per code (count and meaning), then its problems (at most ``per_code``)."""
    lines: list[str] = []
    by_code: dict[str, list[Problem]] = {}
    for p in problems:
        by_code.setdefault(p.code, []).append(p)
    for code, n in counts(problems).items():
        kind = "error" if code in ERRORS else "warning"
        lines.append(f"{kind} {code} x{n}: {ERRORS.get(code) or WARNINGS[code]}")
        shown = by_code[code] if per_code is None else by_code[code][:per_code]
        lines += [f"  {p}" for p in shown]
        if len(shown) < n:
            lines.append(f"  ... and {n - len(shown)} more (without --brief, or in --report FILE)")
    return lines

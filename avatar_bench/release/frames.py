"""One frame JSON of the release -> a :class:`ParsedFrame` (polygons rasterised to COCO RLE) and its problems.

A frame JSON holds at least ``original_width``, ``original_height`` and ``annotations``; other keys are kept.
An annotation holds ``segmentation`` (COCO polygons: a list of flat ``x, y`` lists in original pixels; a COCO
RLE of the frame's size is accepted too), ``bbox``, ``audio_visual_category`` and ``task``; an ``Off-Screen``
annotation may have no segmentation. Only sounding objects are annotated, so every mask is a sounding
instance. Polygons are rasterised with ``pycocotools.mask.frPyObjects`` at the original size (pixel centres at
integer coordinates, as COCO) and the polygons of one annotation are merged into one mask.
"""

from __future__ import annotations

import array
import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from avatar_bench.release.fastread import loads
from avatar_bench.release.problems import Problem
from avatar_bench.release.tasks import TaskTable
from avatar_bench.rules import scenario_violations

FRAME_KEYS = ("original_width", "original_height", "annotations")
ANNOTATION_KEYS = ("segmentation", "bbox", "audio_visual_category", "task")


@dataclass(slots=True)
class ParsedAnnotation:
    """A sounding instance: its category label and its mask (JSON RLE at the frame's size)."""

    category: str
    rle: dict[str, Any]  # JSON RLE; its area and box are computed for all annotations at once (build_dataset)
    extra: dict[str, Any] = field(default_factory=dict)  # the annotation's other keys, unchanged


@dataclass(slots=True)
class ParsedFrame:
    """A frame of the release: size, task and scenario, heard categories and sounding instances."""

    width: int
    height: int
    task: str  # the release's string
    scenario: str
    heard: list[str]  # sorted category labels heard at the frame (also when off screen)
    annotations: list[ParsedAnnotation]
    extra: dict[str, Any] = field(default_factory=dict)  # the frame's other keys, unchanged


class _Bad(Exception):
    """An error found in a frame; carries its problem."""

    def __init__(self, code: str, detail: str, value: str = ""):
        self.code, self.detail, self.value = code, detail, value


def _size(d: dict, key: str) -> int:
    v = d.get(key)
    if type(v) is int and 0 < v <= 100_000:  # the common case, first
        return v
    if key not in d:
        raise _Bad("missing_size", f"missing '{key}'")
    v = d[key]
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= 100_000:
        raise _Bad("missing_size", f"expected '{key}' as a positive integer, got {v!r}"[:200])
    return v


SMALL_POLYGON = 80  # coordinates: up to here plain Python checks a polygon faster than numpy (per-call costs)


def _clipped(coords: list, w: int, h: int) -> tuple[Any, int] | None:
    """``(coords clipped to the frame, points outside)`` for a flat list of >= 3 finite numbers, else None.

    The values equal ``np.clip`` of the float64 array, which is what pycocotools rasterises. Measured on
    24,266 frames (CPU per polygon): at ~25 points numpy's per-call costs make it ~28 us against ~5 us in plain
    Python; at ~470 points plain Python takes 29-44 us to check and 133-235 us to clip, against ~22 and ~35 us
    for one float64 array made and checked by numpy, which pycocotools then takes without converting the list
    itself (~17 us saved there).
    """
    n = len(coords)
    if n < 6 or n % 2:
        return None
    return _clipped_small(coords, w, h) if n <= SMALL_POLYGON else _clipped_large(coords, w, h)


def _clipped_small(coords: list, w: int, h: int) -> tuple[list, int] | None:
    try:
        if not math.isfinite(sum(coords)):  # NaN or inf anywhere makes the sum non-finite (huge sums too)
            return None
    except (TypeError, OverflowError):  # not a flat list of numbers; an integer too large for a float
        return None
    xs, ys = coords[0::2], coords[1::2]
    if min(coords) >= 0 and max(xs) <= w and max(ys) <= h:
        return coords, 0
    outside = sum(1 for x, y in zip(xs, ys, strict=True) if x < 0 or x > w or y < 0 or y > h)
    out = [0] * len(coords)
    out[0::2] = [0 if x < 0 else w if x > w else x for x in xs]
    out[1::2] = [0 if y < 0 else h if y > h else y for y in ys]
    return out, outside


def _clipped_large(coords: list, w: int, h: int) -> tuple[np.ndarray, int] | None:
    try:
        arr = np.frombuffer(array.array("d", coords))  # numbers only (text raises): float64, writable
    except (TypeError, OverflowError):
        return None
    if not np.isfinite(arr).all():
        return None
    xs, ys = arr[0::2], arr[1::2]
    if arr.min() >= 0 and xs.max() <= w and ys.max() <= h:
        return arr, 0
    outside = int(((xs < 0) | (xs > w) | (ys < 0) | (ys > h)).sum())
    np.clip(xs, 0, w, out=xs)
    np.clip(ys, 0, h, out=ys)
    return arr, outside


def _polygon(coords: Any, w: int, h: int, where: str, k: int, out: list[Problem]) -> Any:
    """The polygon, clipped to the frame when needed, or None (dropped, with its warning in ``out``)."""
    fast = _clipped(coords, w, h) if type(coords) is list else None
    if fast is not None:
        if fast[1]:
            out.append(_clip_problem(f"{where} polygon {k}", fast[1], len(coords) // 2, w, h))
        return fast[0]
    where = f"{where} polygon {k}"
    try:
        arr = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        arr = None
    if arr is None or arr.ndim != 1 or arr.size % 2 or not np.isfinite(arr).all():
        n = len(coords) if isinstance(coords, list) else "?"
        out.append(Problem("malformed_polygon", where, f"expected an even number of finite coordinates, got {n} "
                           "value(s) that are not; dropped"))
        return None
    if arr.size < 6:
        out.append(Problem("short_polygon", where, f"{arr.size // 2} point(s), a polygon needs 3; dropped"))
        return None
    xs, ys = arr[0::2], arr[1::2]
    outside = (xs < 0) | (xs > w) | (ys < 0) | (ys > h)  # also for text numbers inside: "0 of n outside"
    out.append(_clip_problem(where, int(outside.sum()), xs.size, w, h))
    np.clip(xs, 0, w, out=xs)
    np.clip(ys, 0, h, out=ys)
    return arr


def _clip_problem(where: str, outside: int, points: int, w: int, h: int) -> Problem:
    return Problem("points_clipped", where, f"{outside} of {points} point(s) outside the {w}x{h} frame, clipped to it")


@functools.cache
def _empty_counts(h: int, w: int) -> bytes:
    return mask_utils.encode(np.zeros((h, w), np.uint8, order="F"))["counts"]


def _rle_of(seg: Any, w: int, h: int, where: str, out: list[Problem]) -> dict | None:
    """The pycocotools RLE of a segmentation (None: no usable polygon); raises _Bad for a wrong type."""
    if isinstance(seg, dict):
        size = seg.get("size")
        if list(size or []) != [h, w] or not isinstance(seg.get("counts"), list | str):
            raise _Bad("malformed_annotation", f"{where}: expected polygons or an RLE of size [{h}, {w}], "
                       f"got an object with size {size!r}")
        counts = seg["counts"]
        try:
            return mask_utils.frPyObjects(seg, h, w) if isinstance(counts, list) else \
                {"size": [h, w], "counts": counts.encode("ascii")}
        except (TypeError, ValueError, OverflowError, UnicodeEncodeError) as exc:  # negative or huge counts: overflow
            raise _Bad("malformed_annotation", f"{where}: unreadable RLE ({exc})") from None
    if not isinstance(seg, list):
        raise _Bad("malformed_annotation", f"{where}: expected a list of polygons, got {type(seg).__name__}")
    if seg and not isinstance(seg[0], list):
        seg = [seg]  # one flat polygon without the outer list
    polys = [p for k, c in enumerate(seg) if (p := _polygon(c, w, h, where, k, out)) is not None]
    if not polys:
        return None
    rles = mask_utils.frPyObjects(polys, h, w)
    return rles[0] if len(rles) == 1 else mask_utils.merge(rles)


def _annotation(a: Any, k: int, tasks: TaskTable) -> tuple[str, str | None, str, Any]:
    """``(task, scenario or None when unknown, category, segmentation)``; raises _Bad when malformed."""
    if type(a) is not dict:
        raise _Bad("malformed_annotation", f"annotation {k}: expected an object, got {type(a).__name__}")
    task, cat = a.get("task"), a.get("audio_visual_category")
    if type(task) is not str or type(cat) is not str or not (label := cat.strip()):
        missing = [key for key, v in (("task", task), ("audio_visual_category", cat)) if not isinstance(v, str)
                   or not v.strip()]
        raise _Bad("malformed_annotation", f"annotation {k}: expected text in {missing}")
    return task, tasks.scenario(task), label, a.get("segmentation")


def _instance(cat: str, seg: Any, a: dict, w: int, h: int, where: str, out: list[Problem]):
    rle = _rle_of(seg, w, h, where, out) if seg else None
    if rle is None:
        out.append(Problem("no_mask", where, f"'{cat}' has no usable polygon; dropped, its category still heard"))
        return None
    if rle["counts"] == _empty_counts(h, w):
        out.append(Problem("empty_mask", where, f"'{cat}': the polygons cover no pixel; dropped"))
        return None
    extra = {key: v for key, v in a.items() if key not in ANNOTATION_KEYS}
    return ParsedAnnotation(cat, {"size": [h, w], "counts": rle["counts"].decode("ascii")}, extra)


@functools.lru_cache(maxsize=4096)
def _violations(scenario: str, categories: tuple[str, ...], heard: tuple[str, ...]) -> list[str]:
    """The scenario rule's findings for a frame of sounding instances only (few distinct frames: memoised)."""
    return scenario_violations(scenario, [(c, True) for c in categories], heard, silent_annotated=False)


def parse_frame(data: bytes, rel: str, tasks: TaskTable) -> tuple[ParsedFrame | None, list[Problem]]:
    """Parse one frame JSON (its bytes); ``rel`` names it in problems. None when the frame is left out."""
    out: list[Problem] = []
    try:
        return _parse(data, rel, tasks, out), out
    except _Bad as bad:
        return None, [*out, Problem(bad.code, rel, bad.detail, bad.value)]


def _frame_object(data: bytes) -> tuple[dict, int, int, list]:
    """The frame's JSON object, width, height and annotations; raises _Bad when malformed."""
    try:
        d = loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise _Bad("malformed_json", f"not valid JSON ({exc})"[:300]) from None
    if type(d) is not dict:
        raise _Bad("malformed_json", f"expected a JSON object, got {type(d).__name__}")
    w, h = _size(d, "original_width"), _size(d, "original_height")
    anns = d.get("annotations")
    if type(anns) is not list:
        raise _Bad("malformed_frame", "missing 'annotations'" if anns is None else
                   f"expected 'annotations' as a list, got {type(anns).__name__}")
    return d, w, h, anns


def _task(parsed: list[tuple[str, str | None, str, Any]], rel: str, out: list[Problem]) -> tuple[str, str]:
    """The frame's task and scenario; raises _Bad for unknown tasks (the others go to ``out``) or a conflict."""
    scenarios = {p[1] for p in parsed}
    if None in scenarios:
        unknown = sorted({p[0] for p in parsed if p[1] is None})
        out += [Problem("unknown_task", rel, f"unknown task {t!r}", value=t) for t in unknown[1:]]
        raise _Bad("unknown_task", f"unknown task {unknown[0]!r}", value=unknown[0])
    if len(scenarios) > 1:
        raise _Bad("task_conflict", f"annotations disagree on the task: {sorted({p[0] for p in parsed})}")
    return parsed[0][0], parsed[0][1]


def _parse(data: bytes, rel: str, tasks: TaskTable, out: list[Problem]) -> ParsedFrame | None:
    d, w, h, anns = _frame_object(data)
    if not anns:
        out.append(Problem("no_annotation", rel, "no annotation, so no scenario; frame left out"))
        return None
    parsed = [_annotation(a, k, tasks) for k, a in enumerate(anns)]
    task, scenario = _task(parsed, rel, out)
    instances = []
    for k, ((_, _, cat, seg), a) in enumerate(zip(parsed, anns, strict=True)):
        if scenario == "off_screen":
            if seg:
                out.append(Problem("offscreen_mask", f"{rel} annotation {k}",
                                   f"'{cat}' is off screen but has a mask; mask ignored"))
        elif (inst := _instance(cat, seg, a, w, h, f"{rel} annotation {k}", out)) is not None:
            instances.append(inst)
    heard = sorted({p[2] for p in parsed})
    if scenario != "off_screen" and not instances:
        out.append(Problem("unscorable_frame", rel, f"{scenario} frame without a usable mask; frame left out"))
        return None
    for why in _violations(scenario, tuple(a.category for a in instances), tuple(heard)):
        out.append(Problem("scenario_rule", rel, f"task {task!r}: {why}; kept as {scenario}"))
    # the three keys of FRAME_KEYS are there by now: a frame of three keys has no other
    extra = {key: v for key, v in d.items() if key not in FRAME_KEYS} if len(d) > 3 else {}
    return ParsedFrame(w, h, task, scenario, heard, instances, extra)

"""Validation of AVATAR-COCO datasets: structural problems and scenario semantics.

:func:`find_problems` is what :meth:`AvatarDataset.problems` returns: types and ranges of every id and key,
foreign keys, enums, image sizes, relative file names and the exact runs of every RLE mask.
:func:`scenario_problems` checks each frame against its scenario's definition (the rule of
:mod:`avatar_bench.rules`). Every message names its record and says what was expected and what was found.

This module imports nothing of :mod:`avatar_bench.format` at run time (``format`` imports it), so the two
have one direction.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from avatar_bench.rules import SCENARIOS, scenario_violations

if TYPE_CHECKING:
    from avatar_bench.format import AvatarDataset, Image

ORIGINS = ("proposal", "human")
SPLITS = ("train", "val", "test")
MAX_ID = 2**63 - 1  # ids are int64 in every table the scorer builds
MAX_SIDE = 16384  # largest image side accepted
MAX_PIXELS = 1 << 25  # largest image area (an 8K frame, 7680x4320, fits): masks are decoded and resized to it
MAX_FRAME_INDEX = 10**12 - 1  # frame ids carry at most 12 digits (avatar_bench.naming)
SILENT_INSTANCES_KEY = "silent_instances_annotated"  # in ``info``; absent means true

# Video names become submission keys ("<name>/<frame_index>") and frame folders, so they must be one path part.
_BAD_NAME_CHARS = ("/", "\\", "\x00")
_DRIVE = re.compile(r"[A-Za-z]:")  # C:x and C:\x are not relative on Windows

# (record list, table name, integer key fields) checked before anything is hashed or indexed
_KEY_FIELDS = (
    ("categories", "category", ("id",)),
    ("videos", "video", ("id",)),
    ("images", "image", ("id", "video_id", "frame_index", "width", "height")),
    ("annotations", "annotation", ("id", "image_id", "video_id", "category_id", "track_id")),
)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_id(v: object) -> bool:
    return _is_int(v) and 0 <= v <= MAX_ID  # type: ignore[operator]


def short(value: Any, limit: int = 60) -> str:
    """``repr`` of a value cut to ``limit`` characters (a hostile file may hold megabytes in one field)."""
    if isinstance(value, int) and value.bit_length() > 128:  # repr() of a 5,000-digit int raises ValueError
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def cut(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters (names in messages come from files and may be very long)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _duplicates(values: list) -> list:
    return sorted(v for v, n in Counter(values).items() if n > 1)


def _bad_ids(values: list) -> list[int]:
    """Positions of the values that are not ids (a list comprehension: ~40 ns a value on 400k values)."""
    return [i for i, v in enumerate(values) if type(v) is not int or not 0 <= v <= MAX_ID]


def _key_problems(ds: AvatarDataset) -> list[str]:
    """Ids and foreign keys that are not integers in [0, 2**63) (lists, strings, floats, bools, huge ints)."""
    out: list[str] = []
    for attr, table, fields in _KEY_FIELDS:
        recs = getattr(ds, attr)
        for name in fields:
            values = [getattr(r, name) for r in recs]
            for i in _bad_ids(values):
                if name == "track_id" and type(values[i]) is int and values[i] == -1:
                    continue  # the default: no track
                where = f"{table} {recs[i].id}" if _is_id(recs[i].id) else f"{table} at position {i}"
                out.append(f"{where}: expected {name} as an integer in [0, 2**63), got {short(values[i])}")
    for im in ds.images:
        cats = im.sounding_category_ids
        if type(cats) is not list or _bad_ids(cats):
            out.append(f"image {im.id}: expected sounding_category_ids as a list of integer ids, got {short(cats)}")
    return out


def _id_problems(ds: AvatarDataset) -> list[str]:
    out: list[str] = []
    for table, recs in (("category", ds.categories), ("video", ds.videos), ("image", ds.images),
                        ("annotation", ds.annotations)):
        dup = _duplicates([r.id for r in recs])
        if dup:
            out.append(f"duplicate {table} id(s): {dup[:10]}")
    dup_names = _duplicates([v.name for v in ds.videos if isinstance(v.name, str)])
    if dup_names:
        out.append(f"duplicate video name(s): {dup_names[:10]}")
    dup_cats = _duplicates([c.name for c in ds.categories if isinstance(c.name, str)])
    if dup_cats:
        out.append(f"duplicate category name(s): {dup_cats[:10]}")
    return out


def file_name_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a file name relative to its root (absolute, a '..' part, not a string), or None."""
    if not isinstance(name, str):
        return f"expected file_name as a string, got {short(name)}"
    if name.startswith(("/", "\\")) or _DRIVE.match(name) or "\x00" in name:
        return f"expected file_name relative to its root, got the absolute path {short(name)}"
    if ".." in name and ".." in name.replace("\\", "/").split("/"):
        return f"expected file_name inside its root, got {short(name)} (a '..' part)"
    return None


def _video_problems(ds: AvatarDataset) -> list[str]:
    out: list[str] = []
    for v in ds.videos:
        if not isinstance(v.name, str) or not v.name or v.name in (".", "..") or any(
            c in v.name for c in _BAD_NAME_CHARS
        ):
            out.append(f"video {v.id}: expected a non-empty name without '/' or '\\', got {short(v.name)}")
        if v.split not in SPLITS:
            out.append(f"video {v.name}: expected split in {SPLITS}, got {short(v.split)}")
        if (why := file_name_problem(v.file_name)) is not None:
            out.append(f"video {v.id}: {why}")
    return out


def _size_problem(im: Image) -> str | None:
    w, h = im.width, im.height
    if not (w > 0 and h > 0):
        return f"expected positive width/height, got {w}x{h}"
    if max(w, h) > MAX_SIDE or w * h > MAX_PIXELS:
        return (f"image of {w}x{h} pixels is larger than this reader accepts (sides <= {MAX_SIDE}, "
                f"width*height <= {MAX_PIXELS}); refused before any mask is allocated")
    return None


def _image_problems(ds: AvatarDataset, videos: set, cats: set) -> list[str]:
    out: list[str] = []
    seen_frames: dict[tuple, int] = {}
    for im in ds.images:
        where = f"image {im.id}"
        if im.video_id not in videos:
            out.append(f"{where}: video_id {im.video_id} does not exist")
        if im.scenario not in SCENARIOS:
            out.append(f"{where}: expected scenario in {SCENARIOS}, got {short(im.scenario)}")
        if (why := _size_problem(im)) is not None:
            out.append(f"{where}: {why}")
        if im.frame_index > MAX_FRAME_INDEX:
            out.append(f"{where}: expected frame_index <= {MAX_FRAME_INDEX}, got {short(im.frame_index)}")
        elif (im.video_id, im.frame_index) in seen_frames:
            out.append(f"{where}: video {im.video_id} frame {im.frame_index} is already image "
                       f"{seen_frames[(im.video_id, im.frame_index)]} (one image per frame)")
        else:
            seen_frames[(im.video_id, im.frame_index)] = im.id
        if (why := file_name_problem(im.file_name)) is not None:
            out.append(f"{where}: {why}")
        unknown = [c for c in im.sounding_category_ids if c not in cats]
        if unknown:
            out.append(f"{where}: sounding_category_ids {unknown} do not exist")
    return out


def _annotation_problems(ds: AvatarDataset, cats: set) -> list[str]:
    out: list[str] = []
    images = {im.id: im for im in ds.images}
    rle_why = ds.mask_check[0]
    for a, bad_rle in zip(ds.annotations, rle_why, strict=True):
        where = f"annotation {a.id}"
        im = images.get(a.image_id)
        if im is None:
            out.append(f"{where}: image_id {a.image_id} does not exist")
        elif a.video_id != im.video_id:
            out.append(f"{where}: video_id {a.video_id} differs from its image's video_id {im.video_id}")
        if a.category_id not in cats:
            out.append(f"{where}: category_id {a.category_id} does not exist")
        if not isinstance(a.sounding, bool):
            out.append(f"{where}: expected sounding true/false, got {short(a.sounding)}")
        if a.origin not in ORIGINS:
            out.append(f"{where}: expected origin in {ORIGINS}, got {short(a.origin)}")
        if a.iscrowd != 0:
            out.append(f"{where}: expected iscrowd 0 (AVATAR instances are single objects), got {short(a.iscrowd)}")
        if bad_rle:
            out.append(f"{where}: segmentation: {bad_rle}")
        elif im is not None and list(a.segmentation["size"]) != [im.height, im.width]:
            out.append(
                f"{where}: RLE size {list(a.segmentation['size'])} does not match its image "
                f"{im.id} (expected [H, W] = [{im.height}, {im.width}])"
            )
    return out


def _info_problems(ds: AvatarDataset) -> list[str]:
    flag = ds.info.get(SILENT_INSTANCES_KEY, True)
    if not isinstance(flag, bool):
        return [f"info.{SILENT_INSTANCES_KEY}: expected true or false, got {short(flag)}"]
    return []


def find_problems(ds: AvatarDataset) -> list[str]:
    """Every structural problem of ``ds``, each naming its record; an empty list means the file is sound.

    Keys are checked first: while an id or a foreign key is not an integer (a list, a string, 2**64), the
    later checks, which index records by their keys, are not run.
    """
    keys = _key_problems(ds)
    if keys:
        return keys
    videos = {v.id for v in ds.videos}
    cats = {c.id for c in ds.categories}
    return (_info_problems(ds) + _id_problems(ds) + _video_problems(ds) + _image_problems(ds, videos, cats)
            + _annotation_problems(ds, cats))


def _frame_scenario_problems(ds: AvatarDataset, im: Image, silent_annotated: bool, area: dict[int, int]
                             ) -> list[str]:
    anns = ds.anns_by_image.get(im.id, [])
    rule = scenario_violations(im.scenario, [(a.category_id, a.sounding) for a in anns],
                               im.sounding_category_ids, silent_annotated=silent_annotated)
    where = f"image {im.id} ({im.scenario})"
    out = [f"{where}: {why}" for why in rule]
    out += [f"{where}: sounding annotation {a.id} has an empty mask" for a in anns if a.sounding and not area[a.id]]
    return out


def scenario_problems(ds: AvatarDataset) -> list[str]:
    """Semantic checks of each frame against its scenario's definition (DESIGN §1, §3).

    Kept apart from :meth:`AvatarDataset.problems`: proposals may break these rules before review, while a
    released ground-truth file must not (``avatar-eval`` refuses them unless told to allow them).
    """
    return [p for problems in scenario_problems_by_image(ds).values() for p in problems]


def scenario_problems_by_image(ds: AvatarDataset, images=None) -> dict[int, list[str]]:
    """:func:`scenario_problems` keyed by image id (only the images that have some), of ``images`` (default all)."""
    silent, area = ds.silent_instances_annotated, ds.mask_area
    by_image = {im.id: _frame_scenario_problems(ds, im, silent, area)
                for im in (ds.images if images is None else images)}
    return {i: problems for i, problems in by_image.items() if problems}

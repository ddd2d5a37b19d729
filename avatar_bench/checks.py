"""Validation of AVATAR-COCO datasets: structural problems and scenario semantics.

:func:`find_problems` is what :meth:`AvatarDataset.problems` returns (ids, foreign keys, enums, RLE sizes);
:func:`scenario_problems` checks each frame against its scenario's definition (DESIGN §1, §3). Every message
names its record and says what was expected and what was found.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from avatar_bench import rle as rle_utils
from avatar_bench.format import ORIGINS, SCENARIOS, SPLITS

if TYPE_CHECKING:
    from avatar_bench.format import AvatarDataset

# Video names become submission keys ("<name>/<frame_index>") and frame folders, so they must be one path part.
_BAD_NAME_CHARS = ("/", "\\", "\x00")


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _duplicates(values: list) -> list:
    return sorted(v for v, n in Counter(values).items() if n > 1)


def _id_problems(ds: AvatarDataset) -> list[str]:
    out: list[str] = []
    for table, recs in (("category", ds.categories), ("video", ds.videos), ("image", ds.images),
                        ("annotation", ds.annotations)):
        bad = [r.id for r in recs if not _is_int(r.id)]
        if bad:
            out.append(f"{table} ids must be integers, got {bad[:5]!r}")
        dup = _duplicates([r.id for r in recs if _is_int(r.id)])
        if dup:
            out.append(f"duplicate {table} id(s): {dup[:10]}")
    dup_names = _duplicates([v.name for v in ds.videos if isinstance(v.name, str)])
    if dup_names:
        out.append(f"duplicate video name(s): {dup_names[:10]}")
    dup_cats = _duplicates([c.name for c in ds.categories if isinstance(c.name, str)])
    if dup_cats:
        out.append(f"duplicate category name(s): {dup_cats[:10]}")
    return out


def _video_problems(ds: AvatarDataset) -> list[str]:
    out: list[str] = []
    for v in ds.videos:
        if not isinstance(v.name, str) or not v.name or v.name in (".", "..") or any(
            c in v.name for c in _BAD_NAME_CHARS
        ):
            out.append(f"video {v.id}: expected a non-empty name without '/' or '\\', got {v.name!r}")
        if v.split not in SPLITS:
            out.append(f"video {v.name}: expected split in {SPLITS}, got {v.split!r}")
    return out


def _image_problems(ds: AvatarDataset, videos: set, cats: set) -> list[str]:
    out: list[str] = []
    seen_frames: dict[tuple, int] = {}
    for im in ds.images:
        where = f"image {im.id}"
        if im.video_id not in videos:
            out.append(f"{where}: video_id {im.video_id} does not exist")
        if im.scenario not in SCENARIOS:
            out.append(f"{where}: expected scenario in {SCENARIOS}, got {im.scenario!r}")
        if not (_is_int(im.width) and _is_int(im.height) and im.width > 0 and im.height > 0):
            out.append(f"{where}: expected positive integer width/height, got {im.width!r}x{im.height!r}")
        if not _is_int(im.frame_index) or im.frame_index < 0:
            out.append(f"{where}: expected a non-negative integer frame_index, got {im.frame_index!r}")
        elif (im.video_id, im.frame_index) in seen_frames:
            out.append(f"{where}: video {im.video_id} frame {im.frame_index} is already image "
                       f"{seen_frames[(im.video_id, im.frame_index)]} (one image per frame)")
        else:
            seen_frames[(im.video_id, im.frame_index)] = im.id
        if not isinstance(im.sounding_category_ids, list):
            out.append(f"{where}: expected sounding_category_ids as a list, got {im.sounding_category_ids!r}")
            continue
        unknown = [c for c in im.sounding_category_ids if c not in cats]
        if unknown:
            out.append(f"{where}: sounding_category_ids {unknown} do not exist")
    return out


def _annotation_problems(ds: AvatarDataset, cats: set) -> list[str]:
    out: list[str] = []
    images = {im.id: im for im in ds.images}
    for a in ds.annotations:
        where = f"annotation {a.id}"
        im = images.get(a.image_id)
        if im is None:
            out.append(f"{where}: image_id {a.image_id} does not exist")
        elif a.video_id != im.video_id:
            out.append(f"{where}: video_id {a.video_id} differs from its image's video_id {im.video_id}")
        if a.category_id not in cats:
            out.append(f"{where}: category_id {a.category_id} does not exist")
        if not isinstance(a.sounding, bool):
            out.append(f"{where}: expected sounding true/false, got {a.sounding!r}")
        if a.origin not in ORIGINS:
            out.append(f"{where}: expected origin in {ORIGINS}, got {a.origin!r}")
        if a.iscrowd != 0:
            out.append(f"{where}: expected iscrowd 0 (AVATAR instances are single objects), got {a.iscrowd!r}")
        bad_rle = rle_utils.is_valid(a.segmentation)
        if bad_rle:
            out.append(f"{where}: segmentation: {bad_rle}")
        elif im is not None and list(a.segmentation["size"]) != [im.height, im.width]:
            out.append(
                f"{where}: RLE size {list(a.segmentation['size'])} does not match its image "
                f"{im.id} (expected [H, W] = [{im.height}, {im.width}])"
            )
    return out


def find_problems(ds: AvatarDataset) -> list[str]:
    """Every structural problem of ``ds``, each naming its record; an empty list means the file is sound."""
    videos = {v.id for v in ds.videos}
    cats = {c.id for c in ds.categories}
    return (_id_problems(ds) + _video_problems(ds) + _image_problems(ds, videos, cats)
            + _annotation_problems(ds, cats))


def _frame_scenario_problems(ds: AvatarDataset, im) -> list[str]:
    anns = ds.anns_by_image.get(im.id, [])
    sounding = [a for a in anns if a.sounding]
    where = f"image {im.id} ({im.scenario})"
    if im.scenario == "off_screen":
        out = []
        if sounding:
            out.append(f"{where}: off-screen frames must have no sounding instance, found {len(sounding)}")
        if not im.sounding_category_ids:
            out.append(f"{where}: off-screen frames must list the heard category in sounding_category_ids")
        return out
    if not sounding:
        return [f"{where}: expected at least one sounding instance, found none"]
    out = [f"{where}: sounding annotation {a.id} has an empty mask" for a in sounding
           if rle_utils.area(a.segmentation) == 0]
    unlisted = sorted({a.category_id for a in sounding} - set(im.sounding_category_ids))
    if unlisted:
        out.append(f"{where}: sounding instance categories {unlisted} are missing from sounding_category_ids")
    if im.scenario == "single" and len(sounding) != 1:
        out.append(f"{where}: expected exactly one sounding instance, found {len(sounding)}")
    elif im.scenario == "mixed" and len({a.category_id for a in sounding}) < 2:
        out.append(f"{where}: expected sounding instances of two or more categories")
    elif im.scenario == "multi_entity":
        if len(sounding) != 1:
            out.append(f"{where}: expected exactly one sounding instance, found {len(sounding)}")
        elif sum(a.category_id == sounding[0].category_id for a in anns) < 2:
            out.append(f"{where}: expected >= 2 visible instances of the sounding category")
    return out


def scenario_problems(ds: AvatarDataset) -> list[str]:
    """Semantic checks of each frame against its scenario's definition (DESIGN §1, §3).

    Kept apart from :meth:`AvatarDataset.problems`: proposals may break these rules before review, while a
    released ground-truth file must not.
    """
    return [p for problems in scenario_problems_by_image(ds).values() for p in problems]


def scenario_problems_by_image(ds: AvatarDataset) -> dict[int, list[str]]:
    """:func:`scenario_problems` keyed by image id (only the images that have some)."""
    by_image = {im.id: _frame_scenario_problems(ds, im) for im in ds.images}
    return {i: problems for i, problems in by_image.items() if problems}

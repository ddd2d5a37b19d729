"""AVATAR-COCO: the annotation format of the AVATAR benchmark (DESIGN.md §3).

One JSON file per split, loadable by ``pycocotools.coco.COCO`` as it is, with video-level fields added::

    info:        {version: "1.x", ...}           schema version; readers refuse unknown major versions
    categories:  [{id, name, supercategory, audio_labels, detector_labels}]
    videos:      [{id, name, file_name, width, height, fps, duration_s, source, source_label, split}]
    images:      [{id, video_id, file_name, width, height, frame_index, timestamp_s,
                   scenario: single|mixed|multi_entity|off_screen, sounding_category_ids}]
    annotations: [{id, image_id, video_id, track_id, category_id, segmentation: RLE, bbox, area,
                   iscrowd: 0, sounding, origin: proposal|human, score}]

``info.silent_instances_annotated`` (default true) says whether silent instances are recorded: false for files
that annotate sounding objects only (the imported release), where the look-alike count of ``multi_entity`` is
not checked (:mod:`avatar_bench.rules`).

Unknown keys on any record are kept in its ``extra`` dict and written back unchanged (review provenance,
generator metadata), so a read/write round trip loses nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from avatar_bench import naming
from avatar_bench import rle as rle_utils
from avatar_bench.checks import (
    ORIGINS,
    SILENT_INSTANCES_KEY,
    SPLITS,
    find_problems,
    scenario_problems,
    scenario_problems_by_image,
)
from avatar_bench.errors import AvatarFormatError
from avatar_bench.io import atomic_write_json
from avatar_bench.rules import SCENARIOS

SCHEMA_VERSION = "1.0"
SUPPORTED_MAJOR = 1
_INDEXES = ("video_by_id", "image_by_id", "category_by_id", "anns_by_image", "images_by_video", "mask_check",
            "mask_area", "_problems")


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() is slow enough to matter when a split has ~100k records. Ordered: files stay stable.
    return tuple(f.name for f in dataclasses.fields(cls) if f.name != "extra")


@functools.cache
def _field_set(cls: type) -> frozenset[str]:
    return frozenset(_field_names(cls))


class _Record:
    """Shared ``to_dict``/``from_dict`` for the slotted record dataclasses below."""

    REQUIRED: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "") -> Any:
        if not isinstance(d, dict):
            raise AvatarFormatError(f"{where or cls.__name__}: expected an object, got {type(d).__name__}")
        missing = [k for k in cls.REQUIRED if k not in d]
        if missing:
            ident = d.get("id", "?")
            raise AvatarFormatError(f"{where or cls.__name__} id={ident}: missing required field(s) {missing}")
        names = _field_set(cls)
        known = {k: v for k, v in d.items() if k in names}
        extra = {k: v for k, v in d.items() if k not in names}
        return cls(**known, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in _field_names(type(self))}
        out.update(self.extra)
        return out


@dataclass(slots=True, kw_only=True)
class Category(_Record):
    id: int
    name: str
    supercategory: str = ""
    audio_labels: list[str] = field(default_factory=list)  # VGGSound (or other tagger) labels heard as it
    detector_labels: list[str] = field(default_factory=list)  # detector class names seen as it
    extra: dict[str, Any] = field(default_factory=dict)
    REQUIRED: ClassVar[tuple[str, ...]] = ("id", "name")


@dataclass(slots=True, kw_only=True)
class Video(_Record):
    id: int
    name: str  # stable string id, e.g. "004KfU7bgyg_000030"
    file_name: str = ""
    width: int = 0
    height: int = 0
    fps: float = 0.0
    duration_s: float = 0.0
    source: str = ""  # vggsound | local | synth
    source_label: str = ""  # e.g. the VGGSound class of the clip
    split: str = "test"
    extra: dict[str, Any] = field(default_factory=dict)
    REQUIRED: ClassVar[tuple[str, ...]] = ("id", "name")


@dataclass(slots=True, kw_only=True)
class Image(_Record):
    id: int
    video_id: int
    file_name: str = ""  # frame image, relative to the frames root (AVATAR releases frames as JPEG)
    width: int
    height: int
    frame_index: int
    timestamp_s: float = 0.0
    scenario: str
    sounding_category_ids: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    REQUIRED: ClassVar[tuple[str, ...]] = ("id", "video_id", "width", "height", "frame_index", "scenario")


@dataclass(slots=True, kw_only=True)
class Annotation(_Record):
    id: int
    image_id: int
    video_id: int
    category_id: int
    segmentation: dict[str, Any]
    track_id: int = -1
    bbox: list[float] = field(default_factory=list)
    area: float = 0.0
    iscrowd: int = 0
    sounding: bool = False
    origin: str = "proposal"
    score: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)
    REQUIRED: ClassVar[tuple[str, ...]] = ("id", "image_id", "category_id", "segmentation")


@dataclass
class AvatarDataset:
    """An AVATAR-COCO split in memory, with indexes built lazily."""

    categories: list[Category] = field(default_factory=list)
    videos: list[Video] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=lambda: {"version": SCHEMA_VERSION})
    licenses: list[dict[str, Any]] = field(default_factory=list)
    source: str = field(default="", compare=False, repr=False)  # the file it was read from, for messages

    # ------------------------------------------------------------------ reading / writing
    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<dict>") -> AvatarDataset:
        """Build from a parsed JSON object. Raises :class:`AvatarFormatError` for structural problems."""
        if not isinstance(d, dict):
            raise AvatarFormatError(f"{source}: expected a JSON object at the top level, got {type(d).__name__}")
        check_version(d.get("info"), source)
        problems: list[str] = []
        for key in ("categories", "videos", "images", "annotations"):
            if not isinstance(d.get(key), list):
                problems.append(f"'{key}': expected a list, got {type(d.get(key)).__name__}")
        if not isinstance(d.get("licenses", []), list):
            problems.append(f"'licenses': expected a list, got {type(d['licenses']).__name__}")
        if problems:
            raise AvatarFormatError(f"{source}: not an AVATAR-COCO file", problems)

        def build(rec_cls, key):
            out = []
            for i, item in enumerate(d[key]):
                try:
                    out.append(rec_cls.from_dict(item, where=f"{key}[{i}]"))
                except AvatarFormatError as exc:
                    problems.append(str(exc))
                except TypeError as exc:
                    problems.append(f"{key}[{i}]: {exc}")
            return out

        ds = cls(
            categories=build(Category, "categories"),
            videos=build(Video, "videos"),
            images=build(Image, "images"),
            annotations=build(Annotation, "annotations"),
            info=dict(d.get("info") or {}),
            licenses=list(d.get("licenses") or []),
        )
        if problems:
            raise AvatarFormatError(f"{source}: {len(problems)} malformed record(s)", problems)
        return ds

    @classmethod
    def load(cls, path: str | os.PathLike, validate: bool = True) -> AvatarDataset:
        """Read and (by default) validate an AVATAR-COCO JSON file."""
        path = Path(path)
        try:
            with open(path, encoding="utf-8") as fh:
                raw = json.load(fh)
        except FileNotFoundError:
            raise AvatarFormatError(f"{path}: annotation file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AvatarFormatError(f"{path}: not valid UTF-8 JSON ({exc})") from None
        except RecursionError:
            raise AvatarFormatError(f"{path}: JSON nested too deeply to be an AVATAR-COCO file") from None
        except ValueError as exc:  # e.g. an integer literal of more than 4,300 digits
            raise AvatarFormatError(f"{path}: not readable as AVATAR-COCO JSON ({exc})") from None
        ds = cls.from_dict(raw, source=str(path))
        ds.source = str(path)
        if validate:
            ds.validate(source=str(path))
        return ds

    def to_dict(self) -> dict[str, Any]:
        info = {**self.info}
        info.setdefault("version", SCHEMA_VERSION)
        return {
            "info": info,
            "licenses": self.licenses,
            "categories": [c.to_dict() for c in self.categories],
            "videos": [v.to_dict() for v in self.videos],
            "images": [im.to_dict() for im in self.images],
            "annotations": [a.to_dict() for a in self.annotations],
        }

    def save(self, path: str | os.PathLike, indent: int | None = None) -> None:
        """Write atomically (a temporary file, then ``os.replace``)."""
        atomic_write_json(path, self.to_dict(), indent=indent)

    @property
    def silent_instances_annotated(self) -> bool:
        """False when the file records sounding instances only (``info.silent_instances_annotated: false``)."""
        return self.info.get(SILENT_INSTANCES_KEY, True) is not False

    # ------------------------------------------------------------------ validation
    def problems(self) -> list[str]:
        """Every structural problem, each naming its record; an empty list means the file is sound.

        Cached like the indexes. A record list that was replaced or changed length drops the cache (and the
        indexes); after changing records in place, call :meth:`invalidate_indexes`.
        """
        shape = tuple((id(recs), len(recs)) for recs in (self.categories, self.videos, self.images,
                                                          self.annotations)) + (id(self.info),)
        cached = self.__dict__.get("_problems")
        if cached is None or cached[0] != shape:
            self.invalidate_indexes()
            cached = self.__dict__["_problems"] = (shape, tuple(find_problems(self)))
        return list(cached[1])

    def validate(self, source: str = "dataset") -> None:
        """Raise :class:`AvatarFormatError` listing every problem of :meth:`problems`, if any."""
        found = self.problems()
        if found:
            raise AvatarFormatError(f"{source}: {len(found)} problem(s) in the annotations", found)

    # ------------------------------------------------------------------ indexes
    @cached_property
    def video_by_id(self) -> dict[int, Video]:
        return {v.id: v for v in self.videos}

    @cached_property
    def image_by_id(self) -> dict[int, Image]:
        return {im.id: im for im in self.images}

    @cached_property
    def category_by_id(self) -> dict[int, Category]:
        return {c.id: c for c in self.categories}

    @cached_property
    def anns_by_image(self) -> dict[int, list[Annotation]]:
        index: dict[int, list[Annotation]] = defaultdict(list)
        for a in self.annotations:
            index[a.image_id].append(a)
        return dict(index)

    @cached_property
    def images_by_video(self) -> dict[int, list[Image]]:
        index: dict[int, list[Image]] = defaultdict(list)
        for im in self.images:
            index[im.video_id].append(im)
        for ims in index.values():
            ims.sort(key=lambda im: im.frame_index)
        return dict(index)

    @cached_property
    def mask_check(self) -> tuple[list[str | None], np.ndarray]:
        """The exact run check of every annotation's mask (:func:`avatar_bench.rle.check_rles`), in order."""
        return rle_utils.check_rles([a.segmentation for a in self.annotations])

    @cached_property
    def mask_area(self) -> dict[int, int]:
        """Foreground pixels of each annotation's mask by annotation id (-1 where the RLE is malformed)."""
        return dict(zip((a.id for a in self.annotations), self.mask_check[1].tolist(), strict=True))

    def invalidate_indexes(self) -> None:
        """Call after mutating the record lists in place (drops the indexes and the cached checks)."""
        for name in _INDEXES:
            self.__dict__.pop(name, None)

    def frame_key(self, image: Image) -> str:
        """The name-based submission key and frame id of a frame: ``<video name>/<frame_index:06d>``."""
        return naming.frame_id(self.video_by_id[image.video_id].name, image.frame_index)

    def cross_event_video_ids(self) -> set[int]:
        """Videos whose set of sounding categories changes between their annotated frames (DESIGN §3)."""
        out = set()
        for vid, ims in self.images_by_video.items():
            if len({frozenset(im.sounding_category_ids) for im in ims}) > 1:
                out.add(vid)
        return out


def check_version(info: Any, source: str) -> None:
    """Refuse files whose ``info.version`` has an unknown major version."""
    version = info.get("version") if isinstance(info, dict) else None
    if version is None:
        raise AvatarFormatError(f"{source}: missing info.version (expected '{SCHEMA_VERSION}')")
    try:
        major = int(str(version).split(".")[0])
    except ValueError:
        raise AvatarFormatError(f"{source}: info.version {version!r} is not of the form MAJOR.MINOR") from None
    if major != SUPPORTED_MAJOR:
        raise AvatarFormatError(
            f"{source}: schema version {version} is not supported (this reader knows {SUPPORTED_MAJOR}.x); "
            "upgrade avatar-toolkit"
        )


__all__ = [
    "ORIGINS", "SCENARIOS", "SCHEMA_VERSION", "SPLITS", "Annotation", "AvatarDataset", "Category", "Image", "Video",
    "check_version", "scenario_problems", "scenario_problems_by_image",
]

"""Scoring straight against a release folder: the import runs in memory and is cached by content hash.

The key is a SHA-256 of everything the import reads (every frame JSON's path and bytes, the image file names,
the task map) and of :data:`IMPORT_VERSION` and the schema version, so a cached file is never stale: any
change in the release, the options or the importer gives another key. Entries are AVATAR-COCO files written
atomically in :func:`cache_dir`; a corrupted entry is rebuilt. Each run reads the frame JSONs once, to hash
them, and parses them only on a miss.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from avatar_bench.errors import AvatarFormatError
from avatar_bench.format import SCHEMA_VERSION, AvatarDataset
from avatar_bench.paths import avatar_home
from avatar_bench.release.importer import IMPORT_VERSION, gc_paused, import_release, read_all
from avatar_bench.release.layout import Layout, scan

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """``$AVATAR_HOME/cache/release`` (``AVATAR_HOME`` defaults to ``${XDG_CACHE_HOME:-~/.cache}/avatar``)."""
    return avatar_home() / "cache" / "release"


def content_key(layout: Layout, blobs: list[bytes], task_map: Mapping[str, str] | None = None) -> str:
    """The SHA-256 (hex) of what an import of ``layout`` reads, with the importer and schema versions."""
    h = hashlib.sha256(f"avatar-release import {IMPORT_VERSION} schema {SCHEMA_VERSION}\n".encode())
    h.update(repr(sorted((task_map or {}).items())).encode())
    h.update(f"\nimages {'beside' if layout.images_beside else layout.frames_root is not None}\n".encode())
    for (folder, index, _), data in zip(layout.json_paths(), blobs, strict=True):
        h.update(f"{folder.name}/{folder.jsons[index]} {len(data)} {folder.images.get(index, '')}\n".encode())
        h.update(data)
    return h.hexdigest()


@dataclass(frozen=True)
class LoadInfo:
    """How :func:`load_release` got its dataset."""

    cached: bool  # True: read from the cache; False: imported now
    path: Path | None  # the cache entry (None when caching is off or it could not be written)
    frames_root: Path | None  # where the frame images are


def load_release(metadata_dir: str | os.PathLike, *, task_map: Mapping[str, str] | None = None,
                 frames: str | os.PathLike | None = None, cache: bool = True) -> tuple[AvatarDataset, LoadInfo]:
    """The release folder as a validated AVATAR-COCO dataset, from the cache when its content is unchanged.

    Raises:
        ReleaseError: the release's errors (nothing is cached then).
    """
    layout = scan(metadata_dir, frames)
    blobs = read_all(layout)
    path = cache_dir() / f"{content_key(layout, blobs, task_map)}.json" if cache else None
    if path is not None and path.is_file():
        try:
            with gc_paused():
                ds = AvatarDataset.load(path)
            return ds, LoadInfo(True, path, layout.frames_root)
        except AvatarFormatError as exc:
            log.warning("cached import %s is unreadable (%s): importing again", path, str(exc).splitlines()[0])
    ds = import_release(metadata_dir, task_map=task_map, layout=layout, blobs=blobs).dataset
    ds.validate(source=str(metadata_dir))
    if path is not None:
        try:
            ds.save(path)
        except OSError as exc:
            log.warning("cannot cache the import in %s (%s): the next run imports again", path.parent, exc)
            path = None
    return ds, LoadInfo(False, path, layout.frames_root)


def load_gt(path: str | os.PathLike, *, task_map: Mapping[str, str] | None = None) -> AvatarDataset:
    """Ground truth from an AVATAR-COCO file, or from a release metadata folder (imported, cached)."""
    if Path(path).is_dir():
        return load_release(path, task_map=task_map)[0]
    return AvatarDataset.load(path)

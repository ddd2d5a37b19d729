"""Low-level submission I/O: listing a directory / .zip / .npz safely and opening one of its files.

A *source* lists its heatmap files as :class:`Entry` records (plus every safety problem found while listing)
and opens one entry for reading (:mod:`avatar_bench.heatmap` decodes it). Nothing is extracted to disk; each
heatmap is decoded from its own stream, so memory holds one heatmap at a time. Safety rules (checked before any
content is read):

- zip members with an absolute path (``/x``, ``C:x``) or a ``..`` part, symbolic links (in a zip or on disk),
  encrypted members and non-regular files are refused;
- zip bombs: each member's declared size must be <= ``Limits.max_member_bytes`` and its compression ratio
  <= ``Limits.max_ratio`` (1100:1 is above what deflate can reach, ~1032:1, so only bzip2/lzma bombs trip it);
  the archive's total declared size must be <= ``Limits.total_bytes(n_frames)``. Declared sizes bound memory:
  ``zipfile`` stops at the declared size and fails on a CRC mismatch.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from avatar_bench.errors import SubmissionError

log = logging.getLogger(__name__)

KINDS = {".npy": "npy", ".png": "png"}
MiB = 1 << 20
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


@dataclass(frozen=True)
class Limits:
    """Safety limits of submission reading (bytes are uncompressed sizes)."""

    max_member_bytes: int = 64 * MiB  # one file: a 4096x4096 float32 map
    max_ratio: float = 1100.0
    bytes_per_frame: int = 4 * MiB  # budget of the whole archive per expected frame (+ slack_bytes)
    slack_bytes: int = 64 * MiB
    max_side: int = 8192  # largest heatmap side accepted
    max_entries_per_frame: int = 4  # listing more entries than this per expected frame (+ 1000) is refused

    def total_bytes(self, n_frames: int) -> int:
        return self.bytes_per_frame * n_frames + self.slack_bytes

    def max_entries(self, n_frames: int) -> int:
        return self.max_entries_per_frame * n_frames + 1000


@dataclass(frozen=True, slots=True)
class Entry:
    """One heatmap file of a submission."""

    name: str  # path relative to the submission root (posix separators)
    key: str  # name without its extension: an image id or "<video name>/<frame_index>"
    kind: str  # "npy" | "png"
    size: int  # uncompressed bytes


def _ignored(name: str) -> bool:
    # Finder and editors add these beside the real files; they are never heatmaps.
    return name.startswith("__MACOSX/") or name.rsplit("/", 1)[-1].startswith(".")


def _entry(name: str, size: int, problems: list[str]) -> Entry | None:
    stem, dot, ext = name.rpartition(".")
    kind = KINDS.get(f".{ext.lower()}") if dot else None
    if kind is None:
        problems.append(f"{name}: unexpected file (expected <key>.npy or <key>.png)")
        return None
    return Entry(name=name, key=stem, kind=kind, size=size)


class DirSource:
    """A directory of ``<key>.npy`` / ``<key>.png`` files (keys may contain one '/': video/frame)."""

    def __init__(self, root: Path):
        self.path = root

    def scan(self, limits: Limits, n_frames: int) -> tuple[list[Entry], list[str]]:
        entries: list[Entry] = []
        problems: list[str] = []
        stack = [("", self.path)]
        while stack:
            prefix, folder = stack.pop()
            with os.scandir(folder) as it:
                for d in sorted(it, key=lambda d: d.name):
                    rel = f"{prefix}{d.name}"
                    if _ignored(rel):
                        continue
                    if d.is_symlink():
                        problems.append(f"{rel}: is a symbolic link (not followed)")
                    elif d.is_dir(follow_symlinks=False):
                        stack.append((f"{rel}/", Path(d.path)))
                    elif not d.is_file(follow_symlinks=False):
                        problems.append(f"{rel}: not a regular file")
                    else:
                        size = d.stat(follow_symlinks=False).st_size
                        if size > limits.max_member_bytes:
                            problems.append(f"{rel}: {size} bytes, more than the limit of {limits.max_member_bytes}")
                        elif (e := _entry(rel, size, problems)) is not None:
                            entries.append(e)
                    if len(entries) + len(problems) > limits.max_entries(n_frames):
                        problems.append(f"more than {limits.max_entries(n_frames)} files for {n_frames} frames; "
                                        "stopped listing")
                        return [], problems
        return entries, problems

    def open(self, entry: Entry) -> BinaryIO:
        return open(self.path / entry.name, "rb")


class ZipSource:
    """A ``.zip`` or ``.npz`` archive; opened lazily per process (a zip handle must not cross a fork)."""

    def __init__(self, path: Path):
        self.path = path
        self._zf: zipfile.ZipFile | None = None
        self._pid = -1
        self._names: dict[str, str] = {}  # entry name -> member name as stored

    def __getstate__(self):
        return {"path": self.path, "_zf": None, "_pid": -1, "_names": self._names}

    def _zip(self) -> zipfile.ZipFile:
        if self._zf is None or self._pid != os.getpid():
            self._zf = zipfile.ZipFile(self.path)
            self._pid = os.getpid()
        return self._zf

    def scan(self, limits: Limits, n_frames: int) -> tuple[list[Entry], list[str]]:
        try:
            infos = self._zip().infolist()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise SubmissionError(f"{self.path}: not a readable zip archive ({exc})") from None
        if len(infos) > limits.max_entries(n_frames):
            return [], [f"archive has {len(infos)} members for {n_frames} frames (limit "
                        f"{limits.max_entries(n_frames)}); refusing to read it"]
        entries, problems, seen = [], [], set()
        total = 0
        for info in infos:
            name = info.filename.replace("\\", "/")
            if name.endswith("/"):
                continue
            reason = _member_problem(info, name, limits)
            if reason:
                problems.append(f"{info.filename}: {reason}")
                continue
            if name.startswith("./"):
                name = name[2:]
            if name in seen:
                problems.append(f"{info.filename}: appears twice in the archive")
                continue
            seen.add(name)
            if _ignored(name):
                continue
            total += info.file_size
            if (e := _entry(name, info.file_size, problems)) is not None:
                entries.append(e)
                self._names[name] = info.filename
        if total > limits.total_bytes(n_frames):
            return [], problems + [f"archive expands to {total} bytes, more than the limit of "
                                   f"{limits.total_bytes(n_frames)} for {n_frames} frames (zip bomb?); "
                                   "refusing to read it"]
        return entries, problems

    def open(self, entry: Entry) -> BinaryIO:
        return self._zip().open(self._names.get(entry.name, entry.name))


def _member_problem(info: zipfile.ZipInfo, name: str, limits: Limits) -> str | None:
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path in the archive (refused)"
    if ".." in name.split("/"):
        return "path escapes the archive ('..')"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link (refused)"
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.flag_bits & 0x20:
        return "uses compressed patched data (zip flag bit 5), which this reader does not support"
    if info.flag_bits & 0x40:
        return "uses strong encryption (zip flag bit 6)"
    if info.compress_type not in _ZIP_METHODS:
        return f"unsupported compression method {info.compress_type}"
    if info.file_size > limits.max_member_bytes:
        return f"expands to {info.file_size} bytes, more than the limit of {limits.max_member_bytes}"
    if info.file_size > limits.max_ratio * max(info.compress_size, 1):
        return (f"compression ratio {info.file_size / max(info.compress_size, 1):.0f}:1 is above "
                f"{limits.max_ratio:.0f}:1 (zip bomb?)")
    return None


def open_source(path: str | os.PathLike) -> DirSource | ZipSource:
    """The source for ``path``: a directory, or a ``.zip`` / ``.npz`` file."""
    path = Path(path)
    if path.is_symlink() and path.is_dir():
        raise SubmissionError(f"{path}: is a symbolic link to a directory; pass the directory itself")
    if path.is_dir():
        return DirSource(path)
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or directory")
    if path.suffix.lower() in (".zip", ".npz"):
        return ZipSource(path)
    raise SubmissionError(f"{path}: expected a directory, a .zip or a .npz of heatmaps, got a '{path.suffix}' file")

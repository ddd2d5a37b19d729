"""Local videos: a folder (not recursive) or a glob pattern (``**`` recurses). The id is the file stem.

A symlink is a video under its own name (its id is the link's stem, its path the link, opened through it). A
link that points nowhere (``broken_link``) or at itself through a loop (``link_loop``) is recorded with its
reason instead of vanishing from the batch. A name whose stem is not a usable file name (``...mp4`` has the stem
``..``) is rejected as ``bad_name``: its frames would land outside ``frames/``.
"""

from __future__ import annotations

import errno
import glob
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.records import VideoRecord

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".flv", ".3gp"})


def check_folder(path: str | os.PathLike, what: str) -> None:
    """PipelineError unless ``path`` is a folder this user can list (checked before any work)."""
    path = Path(path)
    if not path.is_dir():
        raise PipelineError(f"{what}: expected a folder at {path}, found none")
    try:
        with os.scandir(path) as entries:
            next(entries, None)
    except OSError as exc:
        raise PipelineError(f"{what}: cannot list the folder {path} ({exc.strerror or exc})") from None


def list_videos(spec: str | os.PathLike) -> list[Path]:
    """Video files of a folder (by suffix) or every file matched by a glob pattern, sorted, absolute.

    Symlinks are listed under their own path, broken ones included (:func:`prepare_local` gives them a reason).
    """
    path = Path(spec)
    if path.is_dir():
        files = [p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and (p.is_file() or p.is_symlink())]
    else:
        files = [Path(p) for p in glob.glob(str(spec), recursive=True)
                 if os.path.isfile(p) or os.path.islink(p) and not os.path.isdir(p)]
    return sorted(p.absolute() for p in files)


def _link_problem(path: Path) -> tuple[str, str] | None:
    """``(reason, detail)`` for a symlink that leads to no file, else None."""
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "link_loop", f"video {path.stem}: the symlink {path} loops back on itself"
        return "broken_link", f"video {path.stem}: the symlink {path} points to {os.readlink(path)!r}, found nothing"
    return None


def bad_id(video_id: str) -> str | None:
    """Why a file stem cannot be a video id (it becomes a folder name under ``frames/``), or None."""
    if video_id in ("", ".", "..") or any(c in video_id for c in "/\\\0"):
        return f"its name gives the id {video_id!r}, which is not a usable folder name"
    return None


def _check(path: Path) -> tuple[str, str] | None:
    why = bad_id(path.stem)
    if why:
        return "bad_name", f"file {path}: {why}; rename it"
    return _link_problem(path) if path.is_symlink() else None


def prepare_local(spec: str | os.PathLike, label: str = "", split: str = "") -> Iterator[VideoRecord]:
    """One record per local video, in path order; ids are unique.

    The first usable file of a stem gets the stem as its id; a later one with the same stem is rejected as
    ``duplicate_id`` under ``<stem>#<n>``, and so is any rejected file whose stem is taken.

    Args:
        spec: a folder or a glob pattern.
        label: label given to every record (e.g. the class these videos were collected for).
        split: split given to every record.
    """
    paths = list_videos(spec)
    problems = {p: _check(p) for p in paths}
    first: dict[str, Path] = {}
    for path in paths:  # usable files claim their stem first
        if problems[path] is None:
            first.setdefault(path.stem, path)
    count: Counter[str] = Counter()
    for path in paths:
        stem = path.stem
        count[stem] += 1
        record = VideoRecord(video_id=stem, path=str(path), source="local", label=label, split=split)
        if bad_id(stem):  # never an id such as "..": the key only names the file
            record.video_id = f"bad-name-{count[stem]}:{path.name}"
        elif first.get(stem) != path and (stem in first or count[stem] > 1):
            record.video_id = f"{stem}#{count[stem]}"
        if problems[path] is not None:
            record.reject(*problems[path])
        elif first[stem] != path:
            record.reject("duplicate_id", f"video {stem}: {path} has the same id as {first[stem]}")
        yield record

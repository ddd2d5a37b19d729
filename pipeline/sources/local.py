"""Local videos: a folder (not recursive) or a glob pattern (``**`` recurses). The id is the file stem."""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from pipeline.records import VideoRecord

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".flv", ".3gp"})


def list_videos(spec: str | os.PathLike) -> list[Path]:
    """Video files of a folder (by suffix) or every file matched by a glob pattern, sorted, absolute."""
    path = Path(spec)
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
    else:
        files = [Path(p) for p in glob.glob(str(spec), recursive=True) if os.path.isfile(p)]
    return sorted(p.resolve() for p in files)


def prepare_local(spec: str | os.PathLike, label: str = "", split: str = "") -> Iterator[VideoRecord]:
    """One record per local video; a second file with the same stem is rejected as ``duplicate_id``.

    Args:
        spec: a folder or a glob pattern.
        label: label given to every record (e.g. the class these videos were collected for).
        split: split given to every record.
    """
    first: dict[str, Path] = {}
    count: Counter[str] = Counter()
    for path in list_videos(spec):
        record = VideoRecord(video_id=path.stem, path=str(path), source="local", label=label, split=split)
        count[path.stem] += 1
        if path.stem in first:
            record.video_id = f"{path.stem}#{count[path.stem]}"
            record.reject("duplicate_id", f"video {path.stem}: {path} has the same id as {first[path.stem]}")
        else:
            first[path.stem] = path
        yield record

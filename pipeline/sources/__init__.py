"""Sources of candidate videos: ``csv:FILE`` (VGGSound, downloaded), ``dir:DIR``, ``glob:PATTERN``, ``synth:DIR``.

Each source has one ``prepare_*`` function yielding :class:`~pipeline.records.VideoRecord` (kept or
rejected with a reason); :func:`iter_source` picks it from a spec string.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.records import VideoRecord

KINDS = ("csv", "dir", "glob", "synth")


def parse_source(spec: str) -> tuple[str, str]:
    """Split ``"kind:value"``; a bare path is guessed (``.csv`` file, AVATAR-Synth folder, folder, glob)."""
    kind, sep, value = spec.partition(":")
    if sep and kind in KINDS:
        return kind, value
    path = Path(spec)
    if path.is_file() and path.suffix.lower() == ".csv":
        return "csv", spec
    if path.is_dir():
        return ("synth" if (path / "vggsound.csv").is_file() and (path / "videos").is_dir() else "dir"), spec
    if any(ch in spec for ch in "*?["):
        return "glob", spec
    raise PipelineError(f"source {spec!r}: expected csv:FILE, dir:DIR, glob:PATTERN or synth:DIR")


def check_source(spec: str) -> tuple[str, str]:
    """Parse a source spec and check it can be read (before any work); PipelineError naming it if not."""
    from pipeline.sources.local import check_folder

    kind, value = parse_source(spec)
    what = f"source {spec!r}"
    if kind == "csv":
        try:
            with open(value, "rb") as fh:
                fh.read(1)
        except FileNotFoundError:
            raise PipelineError(f"{what}: expected a CSV file at {value}, found none") from None
        except OSError as exc:
            raise PipelineError(f"{what}: cannot read the CSV file {value} ({exc.strerror or exc})") from None
    elif kind in ("dir", "synth"):
        check_folder(value, what)
        if kind == "synth" and not (Path(value) / "vggsound.csv").is_file():
            raise PipelineError(f"{what}: expected an AVATAR-Synth folder with vggsound.csv, found none")
    else:
        parent = Path(value.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0] or ".")
        folder = parent if parent.is_dir() else parent.parent
        if folder.is_dir():
            check_folder(folder, what)
    return kind, value


def iter_source(spec: str, videos_dir: str | os.PathLike, download=None,
                skip: set[str] | frozenset[str] = frozenset(), fetch: bool = True) -> Iterator[VideoRecord]:
    """Records of a source spec, minus the ids in ``skip`` (recorded by an earlier run).

    Args:
        spec: ``csv:FILE`` | ``dir:DIR`` | ``glob:PATTERN`` | ``synth:DIR`` (or a bare path).
        videos_dir: where downloaded clips go (CSV sources only).
        download: a :class:`~pipeline.sources.vggsound.DownloadConfig` (CSV sources only).
        skip: ids to leave out.
        fetch: download CSV clips here; ``False``: their ok rows come out without a ``path``, to be fetched
            later (:func:`pipeline.sources.vggsound.fetch_clips`).
    """
    kind, value = check_source(spec)
    if kind == "csv":
        from pipeline.sources.vggsound import prepare_vggsound

        yield from prepare_vggsound(value, videos_dir, download, skip=skip, fetch=fetch)
        return
    if kind == "synth":
        from pipeline.sources.synth import prepare_synth as prepare
    else:
        from pipeline.sources.local import prepare_local as prepare
    yield from (r for r in prepare(value) if r.video_id not in skip)

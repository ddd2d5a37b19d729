"""Probing the release's videos (``<youtube_id>_<start:05d>.mp4``) with PyAV: size, fps, duration, frame count.

PyAV is optional (``pip install -e '.[release]'`` in the checkout); it is imported only when videos are given.
The frame number in a frame JSON's name is presumably the frame index at the clip's native fps: the importer
checks it against each video's frame count and gives a frame the timestamp ``frame / fps``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from avatar_bench.errors import MissingDependencyError, ReleaseError
from avatar_bench.naming import clip_file_name
from avatar_bench.release.problems import Problem

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the importer needs of one video."""

    width: int
    height: int
    fps: float
    duration_s: float
    n_frames: int  # from the stream header, else round(duration * fps)


def _av():
    try:
        import av
    except ImportError:
        raise MissingDependencyError("av", "release") from None
    return av


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a video's header (no decoding). Raises ``ValueError`` with the reason when it cannot be read."""
    av = _av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            if container.duration:
                duration = container.duration / 1_000_000
            elif stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = 0.0
            n_frames = int(stream.frames) or int(round(duration * fps))
            width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    except (av.error.FFmpegError, OSError) as exc:
        raise ValueError(f"cannot be read ({exc})") from None
    if fps <= 0 or n_frames <= 0:
        raise ValueError(f"no frame rate or frame count in its header (fps {fps}, {n_frames} frames)")
    return VideoInfo(width, height, fps, duration, n_frames)


def videos_folder(videos_dir: str | os.PathLike) -> Path:
    """The videos folder as a Path; raises when PyAV is missing (naming the extra) or the folder is not there."""
    _av()
    root = Path(videos_dir)
    if not root.is_dir():
        raise ReleaseError(f"{root}: expected the folder of the release's videos", [f"{root}: not found"])
    return root


def probe_all(videos_dir: str | os.PathLike, names: Iterable[str]) -> tuple[dict[str, VideoInfo], list[Problem]]:
    """Probe ``<videos_dir>/<name>.mp4`` for each name; a missing or unreadable video is a warning."""
    root = videos_folder(videos_dir)
    infos: dict[str, VideoInfo] = {}
    problems: list[Problem] = []
    present = {e.name for e in os.scandir(root)}
    for name in names:
        file_name = clip_file_name(name)
        if file_name not in present:
            problems.append(Problem("video_missing", f"{name}/", f"no {file_name} in {root}: fps and timestamps unset"))
            continue
        try:
            infos[name] = probe(root / file_name)
        except ValueError as exc:
            problems.append(Problem("video_unreadable", f"{name}/", f"{file_name}: {exc}; fps and timestamps unset"))
    return infos, problems

"""What the annotator plays beside a frame: a short cut centred on its timestamp, and the whole clip.

Made at push time with the real ffmpeg (argument lists, no shell), as H.264/AAC mp4 with ``+faststart`` (what
every browser plays; the moov atom first, so playback starts before the whole file has arrived), written
atomically and made once: a rerun finds the file and reuses it. Layout, under the batch's work dir (so Label
Studio serves them like the frames, through the same local-files storage; :class:`pipeline.layout.WorkDir` owns
the paths)::

    <work>/review_media/<video_id>/clip.mp4          the whole clip, remuxed or re-encoded once per video
    <work>/review_media/<video_id>/<frame:06d>.mp4   the cut around one frame (``cut_s`` long, 2.5 s default)

The video of a frame is the one prepare decoded it from (``video_path`` of the frames table), its duration the
probe's: the work folder's tables are the one source of both.

A video that cannot be read or cut gives no media for its frames (logged, with ffmpeg's last line): the frame
still goes to review with its still image, and the task says that no playback is available.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avatar_bench.io import atomic_path
from pipeline.errors import PipelineError
from pipeline.layout import WorkDir
from pipeline.proposals.records import ProposalRecord
from pipeline.records import STATUS_OK
from pipeline.review.regions import finite

log = logging.getLogger(__name__)
ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p",
          "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-c:a", "aac", "-b:a", "96k", "-ac", "2",
          "-movflags", "+faststart"]


@dataclass(frozen=True)
class Cut:
    """Where a cut lies in its clip (seconds)."""

    timestamp_s: float
    duration_s: float
    start_s: float
    end_s: float

    def describe(self) -> str:
        return (f"frame at {self.timestamp_s:.2f} s of {self.duration_s:.1f} s; "
                f"the cut spans {self.start_s:.2f}–{self.end_s:.2f} s")


def cut_window(timestamp_s: float, duration_s: float, cut_s: float = 2.5) -> Cut:
    """The ``cut_s`` window centred on the frame, moved inside ``[0, duration]`` (shorter only for short clips)."""
    length = min(cut_s, duration_s)
    start = min(max(0.0, timestamp_s - length / 2), max(0.0, duration_s - length))
    return Cut(timestamp_s, duration_s, round(start, 3), round(start + length, 3))


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise PipelineError("review media: ffmpeg not found (apt-get install -y ffmpeg; scripts/setup.sh does it)")
    return exe


def _write(dst: Path, args: list[str], what: str) -> Path:
    """Run ffmpeg with ``args`` writing into a temporary file that replaces ``dst`` only on success."""
    with atomic_path(dst) as tmp:
        cmd = [_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args, "-f", "mp4", str(tmp)]
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
        if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise PipelineError(f"review media: ffmpeg could not {what} into {dst.name}: {tail}")
    return dst


def encode(src: Path, dst: Path, start_s: float | None = None, length_s: float | None = None) -> Path:
    """Re-encode ``src`` (or ``[start, start + length)`` of it) into ``dst`` atomically; an existing ``dst`` is kept.

    Raises:
        PipelineError: ffmpeg failed (its last line is in the message); nothing is left at ``dst``.
    """
    if dst.is_file() and dst.stat().st_size > 0:
        return dst
    seek = ["-ss", f"{start_s:.3f}"] if start_s is not None else []
    span = ["-t", f"{length_s:.3f}"] if length_s is not None else []
    return _write(dst, [*seek, "-i", str(src), *span, "-map", "0:v:0", "-map", "0:a:0?", *ENCODE], f"encode {src}")


def browser_ready(path: Path) -> bool:
    """The file is already what browsers play: an mp4 of H.264 (yuv420p) with AAC audio or none."""
    from pipeline.errors import Rejected
    from pipeline.media import best_audio_stream, best_video_stream, open_media

    try:
        with open_media(path) as container:
            video, audio = best_video_stream(container), best_audio_stream(container)
            return ("mp4" in container.format.name and video is not None and video.codec_context.name == "h264"
                    and video.codec_context.pix_fmt == "yuv420p"
                    and (audio is None or (audio.codec_context.name == "aac" and audio.codec_context.channels <= 2)))
    except Rejected:
        return False


def make_clip(src: Path, dst: Path) -> Path:
    """The whole clip for the browser: remuxed with ``+faststart`` when its streams already play there (no
    re-encode, ~7x faster), re-encoded otherwise; atomic, made once."""
    if dst.is_file() and dst.stat().st_size > 0:
        return dst
    if not browser_ready(src):
        return encode(src, dst)
    return _write(dst, ["-i", str(src), "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-movflags", "+faststart"],
                  f"remux {src}")


def clip_duration(path: Path) -> float | None:
    """The clip's duration in seconds (container, else its video stream), ``None`` when it cannot be read."""
    from pipeline.errors import Rejected
    from pipeline.media import best_video_stream, open_media, stream_seconds

    try:
        with open_media(path) as container:
            if container.duration:
                return container.duration / 1_000_000
            stream = best_video_stream(container)
            return stream_seconds(stream, stream.duration) if stream is not None else None
    except Rejected:
        return None


@dataclass
class FrameMedia:
    """The files of one frame: its cut, its clip, and where the cut lies."""

    cut: Path
    clip: Path
    window: Cut


class ReviewMedia:
    """Makes (once) and finds the cut and clip of each frame of a batch.

    Args:
        work: the batch's work folder (the files go to ``<work>/review_media``).
        cut_s: length of the cut around each frame.
        workers: ffmpeg processes at once (default: one per core, at most 8).
    """

    def __init__(self, work: WorkDir, cut_s: float = 2.5, workers: int | None = None):
        if not 0 < cut_s < float("inf"):
            raise PipelineError(f"review media: expected a cut length in seconds > 0, got {cut_s}")
        self.work, self.cut_s = work, cut_s
        self.workers = max(1, workers or min(8, os.cpu_count() or 2))

    def prepare(self, proposals: Iterable[ProposalRecord], sources: Mapping[str, Path],
                durations: Mapping[str, float]) -> dict[str, FrameMedia]:
        """``{frame_id: FrameMedia}`` for the frames whose video is known and encodes; others are left out (logged).

        Args:
            proposals: the frames (``frame_id``, ``video_id``, ``frame_index``, ``timestamp_s``).
            sources: ``{video_id: video file}``.
            durations: ``{video_id: seconds}`` where known (else read from the file).
        """
        planned: dict[str, tuple[Path, Path, Cut, str]] = {}  # frame_id -> (source, cut file, window, video_id)
        clips: dict[str, tuple[Path, Path]] = {}  # video_id -> (source, clip file)
        known = dict(durations)
        for p in proposals:
            src = sources.get(p.video_id)
            if src is None or not Path(src).is_file():
                continue
            if not known.get(p.video_id):
                known[p.video_id] = clip_duration(Path(src))  # read once per video
            duration = known[p.video_id]
            if not duration or duration != duration:  # None, 0 or NaN
                log.warning("video %s: duration unknown, no playback for its frames", p.video_id)
                continue
            clips.setdefault(p.video_id, (Path(src), self.work.review_clip(p.video_id)))
            window = cut_window(finite(p.timestamp_s), float(duration), self.cut_s)
            planned[p.frame_id] = (Path(src), self.work.review_cut(p.video_id, p.frame_index), window, p.video_id)
        with ThreadPoolExecutor(self.workers) as pool:  # ffmpeg runs outside the GIL: one process per worker
            made = dict(zip(clips, pool.map(lambda job: _try(make_clip, *job), clips.values()), strict=True))
            cuts = dict(zip(planned, pool.map(lambda job: _try(encode, job[0], job[1], job[2].start_s,
                                                               job[2].end_s - job[2].start_s),
                                              planned.values()), strict=True))
        out = {}
        for fid, (_, _, window, video_id) in planned.items():
            if cuts[fid] is not None and made[video_id] is not None:
                out[fid] = FrameMedia(cuts[fid], made[video_id], window)
        return out


def _try(fn: Callable[..., Path], *args: Any) -> Path | None:
    try:
        return fn(*args)
    except PipelineError as exc:
        log.warning("no playback: %s", exc)
        return None


def video_sources(work: WorkDir) -> dict[str, Path]:
    """``{video_id: video file}``: the clip each kept frame was decoded from (the frames table's ``video_path``)."""
    return {f.video_id: Path(f.video_path) for f in work.records("frames", STATUS_OK, required=False)
            if f.video_path}


def video_durations(work: WorkDir) -> dict[str, float]:
    """``{video_id: seconds}`` from the probe table, where it knows them."""
    return {p.video_id: float(p.duration_s) for p in work.records("probe", STATUS_OK, required=False)
            if p.duration_s and p.duration_s > 0}


def task_media(work: WorkDir, proposals: list[ProposalRecord], root: Path, cut_s: float = 2.5,
               workers: int | None = None) -> dict[str, dict[str, str]]:
    """The playback fields of each frame's task: ``cut`` and ``clip`` URLs (served like the frames), ``position``.

    Frames whose video is unknown, unreadable or outside Label Studio's document root get none (the task then
    says that no playback is available).
    """
    from pipeline.errors import Rejected
    from pipeline.review.tasks import local_files_url

    made = ReviewMedia(work, cut_s, workers).prepare(proposals, video_sources(work), video_durations(work))
    out = {}
    for fid, media in made.items():
        try:
            out[fid] = {"cut": local_files_url(media.cut, root), "clip": local_files_url(media.clip, root),
                        "position": media.window.describe()}
        except Rejected as exc:
            log.warning("frame %s: no playback: %s", fid, exc)
    return out

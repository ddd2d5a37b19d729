"""The work folder of a batch: the one owner of its layout (stage → file, record type, key).

Stages, commands and flows reach every file through :class:`WorkDir`; nothing else spells a manifest's name
or the folder it lives in::

    <work>/manifests/<stage>.parquet      one table per stage (see STAGES), written by pipeline.manifest.Manifest
    <work>/manifests/<stage>.parts/       rows flushed since the last merge (crash leftovers included)
    <work>/manifests/prepare_settings.json  the settings the prepared results were made with (staleness check)
    <work>/videos/<video_id>.mp4          downloaded clips (CSV sources; ``naming.clip_file_name``)
    <work>/frames/<video_id>/<frame_index:06d>.jpg   chosen frames (``naming.frame_file_name``)
    <work>/review_media/<video_id>/clip.mp4            the whole clip as browsers play it (review push)
    <work>/review_media/<video_id>/<frame_index:06d>.mp4   the cut around one frame (review push)
    <work>/annotations/{train,val,test}.json          review pull's default output
    <work>/<stage>_summary.json           the StageStats of the stage's last run
    <work>/.lock                          held by the run that writes the folder (prepare, propose)
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avatar_bench import naming
from avatar_bench.io import atomic_write_json
from pipeline.errors import PipelineError
from pipeline.manifest import Manifest
from pipeline.proposals.records import ProposalRecord
from pipeline.records import (
    ActivityRecord,
    FrameRecord,
    ProbeRecord,
    PullRecord,
    PushRecord,
    Record,
    SelectionRecord,
    VideoRecord,
)
from pipeline.stats import StageStats

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage table: its file name (``<name>.parquet``), record type and key column."""

    name: str
    record: type[Record]
    key: str
    made_by: str  # the command that writes it (named in "not found" messages)


STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("videos", VideoRecord, "video_id", "avatar-pipeline prepare"),
    Stage("probe", ProbeRecord, "video_id", "avatar-pipeline prepare"),
    Stage("activity", ActivityRecord, "video_id", "avatar-pipeline prepare"),
    Stage("frames", FrameRecord, "frame_id", "avatar-pipeline prepare"),
    Stage("selection", SelectionRecord, "video_id", "avatar-pipeline prepare"),
    Stage("proposals", ProposalRecord, "frame_id", "avatar-pipeline propose"),
    Stage("review_push", PushRecord, "frame_id", "avatar-pipeline review push"),
    Stage("review", PullRecord, "frame_id", "avatar-pipeline review pull"),
)}
PREPARE_STAGES = ("videos", "probe", "activity", "frames", "selection")  # flush order: selection marks a video done


class WorkDir:
    """The work folder of one batch (created on first write).

    Args:
        root: the folder (``--work-dir``).
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"WorkDir({str(self.root)!r})"

    # ------------------------------------------------------------------ folders and files
    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    @property
    def videos(self) -> Path:
        return self.root / "videos"

    @property
    def frames(self) -> Path:
        return self.root / "frames"

    @property
    def annotations(self) -> Path:
        return self.root / "annotations"

    @property
    def review_media(self) -> Path:
        return self.root / "review_media"

    @property
    def labelstudio_token(self) -> Path:
        """Where ``scripts/labelstudio.py`` stores the personal access token (0600)."""
        return self.root / "labelstudio" / "token"

    def table(self, stage: str) -> Path:
        return self.manifests / f"{STAGES[stage].name}.parquet"

    def summary_path(self, stage: str) -> Path:
        return self.root / f"{stage}_summary.json"

    def settings_path(self, stage: str) -> Path:
        return self.manifests / f"{stage}_settings.json"

    def clip(self, video_id: str) -> Path:
        return self.videos / naming.clip_file_name(video_id)

    def frame_image(self, video_id: str, frame_index: int) -> Path:
        """``<work>/frames/<video_id>/<frame_index:06d>.jpg``; PipelineError if the id would leave ``frames/``."""
        return self._inside(self.frames, naming.frame_file_name(video_id, frame_index), video_id)

    def review_cut(self, video_id: str, frame_index: int) -> Path:
        """``<work>/review_media/<video_id>/<frame_index:06d>.mp4``: the playback cut around one frame."""
        return self._inside(self.review_media, naming.frame_file_name(video_id, frame_index, ext="mp4"), video_id)

    def review_clip(self, video_id: str) -> Path:
        """``<work>/review_media/<video_id>/clip.mp4``: the whole clip as browsers play it."""
        return self._inside(self.review_media, f"{video_id}/clip.mp4", video_id)

    @staticmethod
    def _inside(folder: Path, relative: str, video_id: str) -> Path:
        path = (folder / relative).resolve()
        if not path.is_relative_to(folder):
            raise PipelineError(f"video {video_id!r}: its files would be written outside {folder}")
        return path

    # ------------------------------------------------------------------ tables
    def manifest(self, stage: str, **options: Any) -> Manifest:
        """The typed :class:`Manifest` of a stage (options: ``flush_every``, ``flush_seconds``)."""
        s = STAGES[stage]
        return Manifest(self.manifests, s.name, s.key, record=s.record, **options)

    def records(self, stage: str, status: str | None = None, required: bool = True) -> list[Any]:
        """The records of a stage's table (optionally only ``status``).

        Raises:
            PipelineError: the table is absent (``required``) or lacks the record type's columns.
        """
        manifest = self.manifest(stage)
        if not manifest.exists():
            if not required:
                return []
            raise PipelineError(f"{stage} manifest {manifest.path}: not found (run `{STAGES[stage].made_by}` first)")
        return manifest.records(status)

    def write_summary(self, stats: StageStats) -> Path:
        path = self.summary_path(stats.stage)
        atomic_write_json(path, stats.to_dict(), indent=2)
        return path

    # ------------------------------------------------------------------ one writer at a time
    def ensure_writable(self) -> None:
        """Create the folder and prove a file can be written in it; PipelineError (before any work) if not."""
        probe = self.root / f".write-test-{os.getpid()}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise PipelineError(f"work folder {self.root}: expected a folder this user can write, "
                                f"got {exc.strerror or exc}") from None

    @contextmanager
    def lock(self, what: str) -> Iterator[None]:
        """Hold ``<work>/.lock`` for one writing run; a second run on the same folder is refused (PipelineError).

        The lock is an ``flock``: the kernel drops it when the holder dies, even by SIGKILL.
        """
        self.ensure_writable()
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                raise PipelineError(f"work folder {self.root}: in use by {holder}; wait for it to finish or use "
                                    "another --work-dir") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{what} (pid {os.getpid()})\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock

    def remove_frames_except(self, keep: set[str]) -> int:
        """Delete the JPEGs under ``frames/`` whose path is not in ``keep`` (frames of a choice redone with other
        settings), and the folders left empty; return how many. Call it under :meth:`lock` only."""
        removed = 0
        if not self.frames.is_dir():
            return removed
        for folder in os.scandir(self.frames):
            if not folder.is_dir(follow_symlinks=False):
                continue
            for entry in os.scandir(folder.path):
                if entry.name.endswith(".jpg") and entry.path not in keep:
                    os.unlink(entry.path)
                    removed += 1
            if not any(os.scandir(folder.path)):
                os.rmdir(folder.path)
        return removed

    def sweep_leftovers(self) -> int:
        """Remove what killed runs left behind: download folders (``videos/.dl-*``) and half-written files
        (``.<name>.<hex>.tmp`` of :func:`avatar_bench.io.atomic_path`). Call it under :meth:`lock` only."""
        removed = 0
        if self.videos.is_dir():
            for path in self.videos.glob(".dl-*"):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
                removed += 1
        for folder in (self.videos, self.frames, self.manifests, self.root):
            if not folder.is_dir():
                continue
            pattern = ".*.tmp" if folder == self.root else "**/.*.tmp"
            for path in folder.glob(pattern):
                if path.is_file() and not path.is_symlink():
                    path.unlink(missing_ok=True)
                    removed += 1
        if removed:
            log.info("work folder %s: removed %d leftover(s) of an interrupted run", self.root, removed)
        return removed

"""The streaming scorer: per-frame sufficient statistics over a list of frames, in one process or several.

Each frame is decoded, checked, resized, binarized and counted, then dropped: memory holds one heatmap (and
one GT mask) per process. A frame whose heatmap is bad becomes a problem; once a chunk has a problem it only
validates the rest (scores would be thrown away). Worker processes are forked on Linux (no re-import of the
caller's ``__main__``, instant start, the GT shared copy-on-write); elsewhere they are spawned, which needs the
usual ``if __name__ == "__main__":`` guard in the calling script. Workers run OpenCV single-threaded.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from avatar_bench import rle
from avatar_bench.heatmap import BadHeatmap, as_float, check_heatmap
from avatar_bench.keys import KeyIndex, resolve_keys
from avatar_bench.metrics.functional import frame_counts
from avatar_bench.protocols import Protocol as EvalProtocol
from avatar_bench.protocols import get_protocol

log = logging.getLogger(__name__)


class Reader(Protocol):
    """What the scorer needs from a submission."""

    def load(self, image_id: int) -> np.ndarray: ...  # raises BadHeatmap

    def label(self, image_id: int) -> str: ...


class MappingReader:
    """An in-memory mapping (image id or "<video name>/<frame_index>" -> array) seen as a reader."""

    def __init__(self, mapping: Mapping, keys: KeyIndex, wanted: set[int]):
        self._mapping = mapping
        self._keys = keys
        pairs = [(str(k), k) for k in mapping]
        index, self.problems = resolve_keys(((s, f"key {k!r}") for s, k in pairs), keys, wanted)
        lookup = {f"key {k!r}": k for _, k in pairs}
        self.entries = {image_id: lookup[where] for image_id, where in index.items()}

    def label(self, image_id: int) -> str:
        return f"{self._keys.label(image_id)} (key {self.entries[image_id]!r})"

    def load(self, image_id: int) -> np.ndarray:
        arr = np.asarray(self._mapping[self.entries[image_id]])
        why = check_heatmap(arr)
        if why:
            raise BadHeatmap(why)
        return as_float(arr)


@dataclass(frozen=True, slots=True)
class FrameJob:
    """One frame to score: its GT size and the RLE counts of its sounding masks (none when off screen)."""

    image_id: int
    height: int
    width: int
    rles: tuple[str, ...] = ()
    off_screen: bool = False


@dataclass
class Counts:
    """Per-frame statistics of a list of jobs, in job order, plus the problems found."""

    image_id: np.ndarray
    inter: np.ndarray
    pred_area: np.ndarray
    gt_area: np.ndarray
    score: np.ndarray
    problems: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, jobs: Sequence[FrameJob]) -> Counts:
        n = len(jobs)
        ids = np.fromiter((j.image_id for j in jobs), dtype=np.int64, count=n)
        return cls(ids, *(np.zeros(n, np.int64) for _ in range(3)), np.zeros(n, np.float64))

    @classmethod
    def concat(cls, parts: Sequence[Counts]) -> Counts:
        cols = ("image_id", "inter", "pred_area", "gt_area", "score")
        merged = {c: np.concatenate([getattr(p, c) for p in parts]) if parts else np.zeros(0) for c in cols}
        return cls(**merged, problems=[m for p in parts for m in p.problems])


def gt_mask(job: FrameJob) -> np.ndarray:
    """Union of the job's sounding masks: bool (H, W), Fortran-ordered (pycocotools' layout)."""
    size = (job.height, job.width)
    return rle.union([{"size": size, "counts": c} for c in job.rles], size)


def score_jobs(reader: Reader, jobs: Sequence[FrameJob], mode: str, tau: float, score: bool = True,
               protocol: EvalProtocol | None = None) -> Counts:
    """Score (or, with ``score=False``, only validate) ``jobs`` one frame at a time, on ``protocol``'s grid."""
    prot = protocol or get_protocol(None)
    out = Counts.empty(jobs)
    for i, job in enumerate(jobs):
        try:
            heat = reader.load(job.image_id)
        except BadHeatmap as exc:
            out.problems.append(f"frame {reader.label(job.image_id)}: {exc}")
            continue
        if not score or out.problems:
            continue
        resized, gt = prot.prepare(heat, None if job.off_screen else gt_mask(job), job.height, job.width)
        out.inter[i], out.pred_area[i], out.gt_area[i], out.score[i] = frame_counts(resized, gt, mode, tau,
                                                                                    prot.relative_rule)
    return out


_READER: Reader | None = None


def _init_worker(reader: Reader) -> None:
    global _READER
    _READER = reader
    try:  # one process per core already; OpenCV's own threads would only contend
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover
        pass


def _score_in_worker(jobs: Sequence[FrameJob], mode: str, tau: float, score: bool,
                     protocol: EvalProtocol) -> Counts:
    assert _READER is not None, "worker not initialised"
    return score_jobs(_READER, jobs, mode, tau, score, protocol)


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def idle_cpus() -> int:
    """Cores not busy with other work: usable cores minus the 1-minute load average (this process counted
    as one), at least 1. On a shared machine extra workers only fight the other jobs (measured: 2 workers
    took 1.6x longer than 1 at a load average of 5 on 2 cores), like ``make -l``."""
    cpus = available_cpus()
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not available
        return cpus
    return max(1, min(cpus, int(cpus - load + 1.5)))


def _chunks(jobs: Sequence[FrameJob], workers: int) -> list[Sequence[FrameJob]]:
    size = int(np.clip(len(jobs) // (workers * 8) + 1, 32, 512))
    return [jobs[i:i + size] for i in range(0, len(jobs), size)]


@contextmanager
def _cv2_single_threaded() -> Iterator[None]:
    # A 640x360 resize is too small to gain from OpenCV's threads; they only contend with the other cores'
    # work (and with other users of a shared machine). Restored afterwards: the caller may want them.
    try:
        import cv2
    except ImportError:  # pragma: no cover
        yield
        return
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def run(reader: Reader, jobs: Sequence[FrameJob], mode: str, tau: float, *, workers: int = 1,
        score: bool = True, on_progress: Callable[[int], None] | None = None,
        protocol: EvalProtocol | None = None) -> Counts:
    """Score ``jobs`` with ``workers`` processes (1: in this process); ``on_progress(n)`` after each chunk."""
    with _cv2_single_threaded():
        return _run(reader, jobs, mode, tau, workers, score, on_progress, protocol or get_protocol(None))


def _run(reader: Reader, jobs: Sequence[FrameJob], mode: str, tau: float, workers: int, score: bool,
         on_progress: Callable[[int], None] | None, protocol: EvalProtocol) -> Counts:
    chunks = _chunks(jobs, max(workers, 1))
    if workers <= 1 or len(chunks) <= 1:
        parts = []
        for chunk in chunks:
            parts.append(score_jobs(reader, chunk, mode, tau, score, protocol))
            if on_progress:
                on_progress(len(chunk))
        return Counts.concat(parts)
    ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    results: dict[int, Counts] = {}
    with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=ctx, initializer=_init_worker,
                             initargs=(reader,)) as pool:
        pending = {pool.submit(_score_in_worker, c, mode, tau, score, protocol): i for i, c in enumerate(chunks)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                results[i] = fut.result()
                if on_progress:
                    on_progress(len(chunks[i]))
    return Counts.concat([results[i] for i in range(len(chunks))])


def jobs_for(gt_images: Iterable, sounding: Mapping[int, list[str]]) -> list[FrameJob]:
    """Build jobs from GT images and their sounding masks' RLE counts (image id -> counts)."""
    return [FrameJob(im.id, im.height, im.width, tuple(sounding.get(im.id, ())), im.scenario == "off_screen")
            for im in gt_images]

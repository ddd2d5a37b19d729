"""Run the per-video chain over many videos: in this process (``workers=1``) or a process pool.

The pool is bounded (a few tasks per worker in flight) so 70k videos are never queued at once. A worker
that dies (a decoder crash, the OOM killer) breaks the pool and fails every video in flight, guilty or not:
the pool is rebuilt and those videos become suspects, each retried alone. A suspect that kills a worker
while alone (its second death) is rejected as ``worker_crash``; the others go on as if nothing happened.

No orphans: a pool worker's parent is the fork server, not the run, so each worker watches the run's process
(a pidfd) and exits the moment it is gone, even after a SIGKILL; the fork server and the resource tracker then
see their last client vanish and exit too.

The probe filter: in this process the run's own filter judges every video; a pool worker has one filter for
all its videos, and each outcome carries its verdict, added to the run's filter here.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pipeline.probe import ProbeFilter
from pipeline.progress import bar as progress_bar
from pipeline.records import ActivityRecord, ProbeRecord, SelectionRecord, VideoRecord
from pipeline.video_stages import VideoOutcome, process_video

log = logging.getLogger(__name__)


def _args(video: VideoRecord, probes: dict, activities: dict, config: Any, frames_dir: str) -> tuple:
    return (video, config.probe, config.activity, config.frames, frames_dir, probes.get(video.video_id),
            activities.get(video.video_id))


def run_videos(videos: list[VideoRecord], probes: dict[str, ProbeRecord], activities: dict[str, ActivityRecord],
               config: Any, frames_dir: str, progress: bool = False,
               probe_filter: ProbeFilter | None = None) -> Iterator[VideoOutcome]:
    """Yield one :class:`VideoOutcome` per video (completion order with a pool).

    ``probe_filter`` (default: a new one) ends up holding the filter's counts over every video of the run.
    """
    workers = config.workers or os.cpu_count() or 1
    probe_filter = probe_filter or ProbeFilter(config.probe)
    with progress_bar(total=len(videos), desc="videos", unit="video", enabled=progress) as bar:
        if workers <= 1 or len(videos) <= 1:
            for video in videos:
                yield process_video(*_args(video, probes, activities, config, frames_dir), probe_filter=probe_filter)
                bar.update()
            return
        for outcome in _pooled(videos, probes, activities, config, frames_dir, min(workers, len(videos))):
            if outcome.filtered is not None:
                probe_filter.stats.merge(outcome.filtered)
            yield outcome
            bar.update()


# Imported once by the fork server, then inherited by every worker (librosa alone takes seconds to import).
PRELOAD = ["pipeline.workers", "pipeline.video_stages", "librosa.feature.spectral", "scipy.ndimage", "cv2", "av"]


def _pool(workers: int) -> ProcessPoolExecutor:
    # forkserver: children start from a clean process (no threads inherited from pyarrow or tqdm).
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
    else:
        ctx = mp.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker,
                               initargs=(logging.getLogger().getEffectiveLevel(), os.getpid()))


def init_worker(log_level: int, run_pid: int) -> None:
    """Pool initializer: exit with the run, log like it, one OpenCV thread per process (processes parallelise)."""
    import cv2

    exit_with(run_pid)
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cv2.setNumThreads(1)


def exit_with(pid: int) -> None:
    """End this process as soon as process ``pid`` is gone (a daemon thread waits on its pidfd)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(70)
    except (AttributeError, OSError):  # no pidfd (old kernel): poll
        fd = None

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])  # readable once the process has exited
        else:
            while _alive(pid):
                time.sleep(0.5)
        os._exit(70)  # the run is gone: nobody wants this worker's result

    threading.Thread(target=watch, name=f"exit-with-{pid}", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pooled(videos: list[VideoRecord], probes: dict, activities: dict, config: Any, frames_dir: str,
            workers: int, task: Callable[..., VideoOutcome] = process_video) -> Iterator[VideoOutcome]:
    queue = list(reversed(videos))
    suspects: list[VideoRecord] = []  # in flight when a worker died: retried one at a time
    pool = _pool(workers)
    inflight: dict[Any, VideoRecord] = {}
    alone = False  # the single video in flight is a suspect running alone
    try:
        while queue or suspects or inflight:
            if suspects and not inflight:
                video, alone = suspects.pop(), True
                inflight[pool.submit(task, *_args(video, probes, activities, config, frames_dir))] = video
            while not suspects and queue and len(inflight) < 2 * workers:
                video, alone = queue.pop(), False
                inflight[pool.submit(task, *_args(video, probes, activities, config, frames_dir))] = video
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                video = inflight.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    broken = True
                    if alone:
                        yield _crashed(video, probes, activities)
                    else:
                        suspects.append(video)
            if broken:
                suspects.extend(inflight.values())
                log.warning("a worker process died; restarting the pool, %d suspect video(s) to retry one at a time",
                            len(suspects))
                for future in inflight:
                    future.cancel()
                inflight.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = _pool(workers)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _crashed(video: VideoRecord, probes: dict, activities: dict) -> VideoOutcome:
    """A video that killed a worker twice (the second time alone): rejected at the first stage not done yet."""
    vid = video.video_id
    detail = f"video {vid}: the worker process died twice while processing it"
    out = VideoOutcome(vid)
    if vid not in probes:
        out.probe = ProbeRecord(video_id=vid)
        out.probe.reject("worker_crash", detail)
    elif vid not in activities:
        out.activity = ActivityRecord(video_id=vid)
        out.activity.reject("worker_crash", detail)
    else:
        out.selection = SelectionRecord(video_id=vid)
        out.selection.reject("worker_crash", detail)
    return out

"""A worker process that dies (here: SIGKILL, as from the OOM killer or a decoder crash) breaks the process
pool and fails every video in flight. Only the video that kills a worker again while running alone is rejected
as ``worker_crash``; the videos that merely shared the pool with it are retried and come out untouched."""

import os
import signal
import time
from types import SimpleNamespace

import pytest

from pipeline.records import VideoRecord
from pipeline.video_stages import VideoOutcome
from pipeline.workers import _pooled

CONFIG = SimpleNamespace(probe=None, activity=None, frames=None)


def killing_task(video: VideoRecord, *_args) -> VideoOutcome:
    """Runs in a real pool worker: a ``poison`` video kills its process, the others take a moment and succeed."""
    if video.video_id.startswith("poison"):
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.3)  # still in flight when the poison video kills its worker
    return VideoOutcome(video.video_id)


def _run(ids: list[str], workers: int = 2) -> dict[str, VideoOutcome]:
    videos = [VideoRecord(video_id=i, path=f"/nonexistent/{i}.mp4") for i in ids]
    outcomes = list(_pooled(videos, {}, {}, CONFIG, "/nonexistent", workers, task=killing_task))
    assert sorted(o.video_id for o in outcomes) == sorted(ids), "every video gets exactly one outcome"
    return {o.video_id: o for o in outcomes}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("poison", [["poison_a"], ["poison_a", "poison_b"]])
def test_only_the_video_that_kills_its_worker_is_rejected(poison):
    good = [f"good_{i}" for i in range(6)]
    ids = [*good[:2], *poison[:1], *good[2:4], *poison[1:], *good[4:]]  # poison shares the pool with others
    outcomes = _run(ids)
    for vid in good:
        assert outcomes[vid].final_reason == "", f"{vid} was only in flight next to the crash"
        assert outcomes[vid].probe is None  # the task's own outcome, not a rejection record
    for vid in poison:
        assert outcomes[vid].final_reason == "worker_crash"
        assert outcomes[vid].probe.status == "rejected"
        assert "died twice" in outcomes[vid].probe.detail

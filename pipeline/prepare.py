"""``prepare(source, out_dir, config)``: sources → probe/filter → audio activity → frame choice.

Layout of ``out_dir``::

    manifests/videos.parquet     one row per source record (key video_id)
    manifests/probe.parquet      one row per probed video
    manifests/activity.parquet   one row per video that passed the probe filter
    manifests/selection.parquet  one row per video that reached frame choice: marks it finished
    manifests/frames.parquet     one row per chosen frame (key frame_id)
    videos/<video_id>.mp4        downloaded clips (CSV sources)
    frames/<video_id>/<frame_index:06d>.jpg
    prepare_summary.json         counts per stage and per rejection reason

Resumable: manifests are flushed together every ``checkpoint_every`` videos, in stage order (probe,
activity, frames, then selection), each part file atomically; a killed run loses at most the videos since
the last checkpoint. A rerun skips source records already listed, videos already finished (selection row,
or rejected by probe or activity) and reuses the probe/activity rows of half-done videos.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avatar_bench.io import atomic_write_json
from pipeline.activity import ActivityConfig
from pipeline.config import from_dict, to_dict
from pipeline.frames import FrameConfig
from pipeline.manifest import STATUS_OK, STATUS_REJECTED, Manifest, reason_counts
from pipeline.probe import ProbeConfig
from pipeline.records import (
    FRAME_KEY,
    VIDEO_KEY,
    ActivityRecord,
    FrameRecord,
    ProbeRecord,
    SelectionRecord,
    VideoRecord,
)
from pipeline.sources import iter_source
from pipeline.sources.vggsound import DownloadConfig
from pipeline.video_stages import VideoOutcome
from pipeline.workers import run_videos

log = logging.getLogger(__name__)

RECORDS = {"videos": VideoRecord, "probe": ProbeRecord, "activity": ActivityRecord, "frames": FrameRecord,
           "selection": SelectionRecord}
STAGES = (("videos", VIDEO_KEY), ("probe", VIDEO_KEY), ("activity", VIDEO_KEY), ("frames", FRAME_KEY),
          ("selection", VIDEO_KEY))
_NEVER = 10**12  # manifests flush only at our checkpoints (stage order matters for resume)


@dataclass(slots=True, kw_only=True)
class PrepareConfig:
    """All settings of ``prepare`` (every threshold of the stages is a field of a sub-config)."""

    probe: ProbeConfig = field(default_factory=ProbeConfig)
    activity: ActivityConfig = field(default_factory=ActivityConfig)
    frames: FrameConfig = field(default_factory=FrameConfig)
    download: DownloadConfig = field(default_factory=DownloadConfig)
    workers: int = 1  # processes for probe/activity/frames (0: one per CPU core)
    checkpoint_every: int = 20  # videos between manifest checkpoints
    checkpoint_seconds: float = 30.0  # ... or this many seconds

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PrepareConfig:
        """Build from nested dicts; unknown keys raise :class:`~pipeline.errors.PipelineError`."""
        return from_dict(cls, d)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


class _Manifests:
    """The five stage manifests, flushed together in stage order."""

    def __init__(self, directory: Path):
        self.m = {name: Manifest(directory, name, key, flush_every=_NEVER, flush_seconds=_NEVER,
                                 columns=[f.name for f in dataclasses.fields(RECORDS[name])])
                  for name, key in STAGES}
        self.last = time.monotonic()
        self.since = 0

    def __getitem__(self, name: str) -> Manifest:
        return self.m[name]

    def tick(self, config: PrepareConfig) -> None:
        self.since += 1
        if self.since >= config.checkpoint_every or time.monotonic() - self.last > config.checkpoint_seconds:
            self.checkpoint()

    def checkpoint(self) -> None:
        for name, _ in STAGES:
            self.m[name].flush()
        self.last, self.since = time.monotonic(), 0

    def finalize(self) -> dict[str, Any]:
        self.checkpoint()
        return {name: self.m[name].finalize() for name, _ in STAGES}  # an empty stage keeps its record's columns


def prepare(source: str, out_dir: str | os.PathLike, config: PrepareConfig | None = None, *,
            progress: bool = False) -> dict[str, Any]:
    """Run every preparation stage over a source; resumable.

    Args:
        source: ``csv:FILE`` | ``dir:DIR`` | ``glob:PATTERN`` | ``synth:DIR`` (or a bare path).
        out_dir: the work folder (created).
        config: settings; defaults follow the paper.
        progress: show tqdm bars.

    Returns:
        The summary also written to ``<out_dir>/prepare_summary.json``.
    """
    config = config or PrepareConfig()
    out = Path(out_dir).resolve()
    manifests = _Manifests(out / "manifests")
    started = time.monotonic()
    n_new_sources = _source_stage(source, out, config, manifests, progress)
    todo, probes, activities = _pending(manifests)
    log.info("%d videos to process (%d listed)", len(todo), len(manifests["videos"].done_ids()))
    for outcome in run_videos(todo, probes, activities, config, str(out / "frames"), progress):
        _record(outcome, manifests)
        manifests.tick(config)
    tables = manifests.finalize()
    summary = summarize(tables)
    summary.update(source=source, out_dir=str(out), new_source_records=n_new_sources, processed=len(todo),
                   elapsed_s=round(time.monotonic() - started, 2), config=config.to_dict())
    atomic_write_json(out / "prepare_summary.json", summary, indent=2)
    return summary


def _source_stage(source: str, out: Path, config: PrepareConfig, manifests: _Manifests, progress: bool) -> int:
    from tqdm.auto import tqdm

    videos = manifests["videos"]
    skip = videos.done_ids()
    n = 0
    for record in tqdm(iter_source(source, out / "videos", config.download, skip), desc="sources", unit="video",
                       disable=not progress):
        videos.append(record.to_row())
        n += 1
        manifests.tick(config)
    videos.flush()
    return n


def _pending(manifests: _Manifests) -> tuple[list[VideoRecord], dict[str, ProbeRecord], dict[str, ActivityRecord]]:
    """Ok source videos not finished yet, with the probe/activity records of half-done ones."""
    videos = manifests["videos"].read()
    probe_df, activity_df = manifests["probe"].read(), manifests["activity"].read()
    probes = {r.video_id: r for r in _records(probe_df, ProbeRecord)}
    activities = {r.video_id: r for r in _records(activity_df, ActivityRecord)}
    finished = manifests["selection"].done_ids()
    finished |= {v for v, r in probes.items() if not r.ok} | {v for v, r in activities.items() if not r.ok}
    todo = [r for r in _records(videos, VideoRecord) if r.ok and r.video_id not in finished]
    return todo, probes, activities


def _records(df, cls) -> Iterable[Any]:
    if df is None or not len(df) or "status" not in df.columns:
        return []
    return [cls.from_row(row) for row in df.to_dict("records")]


def _record(outcome: VideoOutcome, manifests: _Manifests) -> None:
    if outcome.probe is not None:
        manifests["probe"].append(outcome.probe.to_row())
    if outcome.activity is not None:
        manifests["activity"].append(outcome.activity.to_row())
    manifests["frames"].extend(f.to_row() for f in outcome.frames)
    if outcome.selection is not None:
        manifests["selection"].append(outcome.selection.to_row())


def summarize(tables: dict[str, Any]) -> dict[str, Any]:
    """Counts per stage (kept, rejected per reason) and the final fate of every listed video."""
    stages = {}
    for name, df in tables.items():
        n_ok = int((df["status"] == STATUS_OK).sum()) if len(df) and "status" in df.columns else 0
        n_rej = int((df["status"] == STATUS_REJECTED).sum()) if len(df) and "status" in df.columns else 0
        stages[name] = {"ok": n_ok, "rejected": n_rej, "reasons": reason_counts(df)}
    rejected: Counter[str] = Counter()
    for name in ("videos", "probe", "activity", "selection"):
        rejected.update(stages[name]["reasons"])
    return {
        "videos": len(tables["videos"]),
        "kept_videos": stages["selection"]["ok"],
        "frames": stages["frames"]["ok"],
        "rejected": dict(rejected.most_common()),
        "stages": stages,
    }

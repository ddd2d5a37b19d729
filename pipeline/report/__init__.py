"""``avatar-pipeline report``: the proposal-quality report of one or more reviewed batches.

After a pull, for each batch and backend (the proposal's model version): the share of proposals accepted
unchanged, proposal-vs-verified mask IoU, scenario and sounding agreement, instances added and removed by
annotators and annotator seconds per frame (Label Studio's ``lead_time``); written as markdown, JSON and a PNG of
plots (:mod:`pipeline.report.metrics` defines every number, :mod:`pipeline.report.collect` what is compared).
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from avatar_bench.io import atomic_write_text
from pipeline.config import StrictConfig, require
from pipeline.layout import WorkDir
from pipeline.report.collect import collect
from pipeline.report.metrics import FrameOutcome, Summary, summarize
from pipeline.report.render import as_json, markdown, plot
from pipeline.stats import StageStats

log = logging.getLogger(__name__)
__all__ = ["FILES", "ReportConfig", "quality_report", "reviewed_batches"]
FILES = {"markdown": "proposal_quality.md", "json": "proposal_quality.json", "plot": "proposal_quality.png"}


@dataclass
class ReportConfig(StrictConfig):
    """Settings of ``report`` (loaded by :func:`pipeline.config.load_config` like every stage's)."""

    match_iou: float = 0.5  # a redrawn instance is the proposal's when their masks overlap at least this much
    plots: bool = True  # write proposal_quality.png

    def validate(self) -> None:
        require(0.0 < self.match_iou <= 1.0, "match_iou", "an IoU in (0, 1]", self.match_iou)


def reviewed_batches(work_dir: str | os.PathLike) -> list[WorkDir]:
    """The work folder itself when it holds proposals, else its ``batches/*`` that do (the flows' layout)."""
    work = WorkDir(work_dir)
    if work.table("proposals").exists():
        return [work]
    folder = work.root / "batches"
    found = sorted(p for p in folder.iterdir() if WorkDir(p).table("proposals").exists()) if folder.is_dir() else []
    return [WorkDir(p) for p in found]


def _rows(outcomes: list[FrameOutcome]) -> list[tuple[str, str, Summary]]:
    groups: dict[tuple[str, str], list[FrameOutcome]] = defaultdict(list)
    for o in outcomes:
        groups[o.group].append(o)
    rows = [(b, m, summarize(groups[(b, m)])) for b, m in sorted(groups)]
    if len(rows) > 1:
        rows.append(("all", "all backends", summarize(outcomes)))
    return rows


def quality_report(works: list[WorkDir], out_dir: str | os.PathLike, config: ReportConfig | None = None) -> StageStats:
    """Compare every pulled frame of these batches with its proposal; write the report into ``out_dir``.

    Returns:
        The stage's statistics: ``kept`` frames compared, ``rejected`` frames not compared per reason; info
        ``rows`` (the table as JSON), ``markdown`` (the text), ``files`` (paths written).
    """
    config = config or ReportConfig()
    plots = config.plots
    outcomes: list[FrameOutcome] = []
    skipped: dict[str, Counter] = {}
    for work in works:
        found, not_compared = collect(work, match_iou=config.match_iou)
        outcomes += found
        skipped[work.root.name] = not_compared
    rows = _rows(outcomes)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / file for name, file in FILES.items()}
    if plots and rows:
        plot(rows, outcomes, paths["plot"])
    text = markdown(rows, skipped, paths["plot"] if plots and rows else None)
    atomic_write_text(paths["markdown"], text)
    data = as_json(rows, skipped)
    atomic_write_text(paths["json"], json.dumps(data, indent=2) + "\n")
    stats = StageStats(stage="report", unit="frame", kept=len(outcomes), headline="{kept} frames compared")
    for reasons in skipped.values():
        stats.rejected.update(reasons)
    stats.info.update(rows=data["rows"], markdown=text,
                      files=[str(p) for name, p in paths.items() if name != "plot" or (plots and rows)])
    log.info("proposal quality of %d batch(es): %d frame(s) compared, written to %s", len(works), len(outcomes), out)
    return stats

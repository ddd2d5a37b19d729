"""The proposal-quality report as markdown (also the pull flow's Prefect artifact), JSON and a PNG of plots."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pipeline.report.metrics import FrameOutcome, Summary

COLUMNS = ("batch", "backend", "frames", "rejected", "accepted unchanged", "mask IoU (mean / median, pairs)",
           "scenario agrees", "sounding agrees", "added", "removed", "s / frame (mean / median)")


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def _num(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def row(batch: str, backend: str, s: Summary) -> list[str]:
    boxes = f", {s.box_only} boxes" if s.box_only else ""
    backend = backend.replace("|", "\\|")  # a model version joins its parts with "|": not a column break
    return [batch, f"`{backend}`", str(s.frames), str(s.rejected), _pct(s.unchanged),
            f"{_num(s.mask_iou)} / {_num(s.mask_iou_median)} ({s.pairs}{boxes})",
            _pct(s.scenario), _pct(s.sounding), str(s.added), str(s.removed),
            f"{_num(s.seconds, 1)} / {_num(s.seconds_median, 1)}"]


def markdown(rows: Sequence[tuple[str, str, Summary]], skipped: dict[str, Counter], plot: Path | None = None) -> str:
    """The report: one row per batch and backend (model version), then the frames not compared and why."""
    lines = ["# Proposal quality", "",
             "What annotators kept of the proposals, per batch and backend (the proposal's model version). "
             "Shares of the frames kept; mask IoU over the proposal/verified instance pairs (a proposal without "
             "a mask counts as its box); seconds from Label Studio's `lead_time`.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row(b, m, s)) + " |" for b, m, s in rows]
    if not rows:
        lines += ["", "No reviewed frame to compare yet: pull after annotators submit."]
    not_compared = {b: c for b, c in skipped.items() if c}
    if not_compared:
        lines += ["", "Frames not compared (reason: frames): " + "; ".join(
            f"{b}: " + ", ".join(f"{r} {n}" for r, n in sorted(c.items())) for b, c in not_compared.items())]
    if plot is not None:
        lines += ["", f"Plots: `{plot}`"]
    return "\n".join(lines) + "\n"


def as_json(rows: Sequence[tuple[str, str, Summary]], skipped: dict[str, Counter]) -> dict[str, Any]:
    return {"rows": [{"batch": b, "backend": m, **asdict(s)} for b, m, s in rows],
            "not_compared": {b: dict(c) for b, c in skipped.items()}}


def plot(rows: Sequence[tuple[str, str, Summary]], outcomes: Sequence[FrameOutcome], path: Path) -> Path:
    """Three panels per group: the shares, the instance IoU histogram, the seconds per frame."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from avatar_bench.io import atomic_path

    groups = [(b, m) for b, m, _ in rows if b != "all"]
    labels = [f"{b}\n{m[:28]}" for b, m in groups]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    shares = {"accepted unchanged": "unchanged", "scenario agrees": "scenario", "sounding agrees": "sounding",
              "mask IoU": "mask_iou"}
    width = 0.8 / len(shares)
    for k, (name, attr) in enumerate(shares.items()):
        values = [100 * (getattr(s, attr) or 0.0) for b, _, s in rows if b != "all"]
        axes[0].bar([i + k * width for i in range(len(groups))], values, width, label=name)
    axes[0].set_xticks([i + 0.4 - width / 2 for i in range(len(groups))], labels, fontsize=7)
    axes[0].set_ylim(0, 100)
    axes[0].set_ylabel("% (mask IoU × 100)")
    axes[0].legend(fontsize=7)
    axes[0].set_title("what annotators kept")
    longest = max((o.lead_time_s for o in outcomes if o.lead_time_s is not None), default=1.0) or 1.0
    for g, label in zip(groups, labels, strict=True):
        ious = [v for o in outcomes if o.group == g for v in o.ious]
        times = [o.lead_time_s for o in outcomes if o.group == g and o.lead_time_s is not None]
        axes[1].hist(ious, bins=[i / 20 for i in range(21)], alpha=0.6, label=label.replace("\n", " "))
        axes[2].hist(times, bins=[longest * i / 20 for i in range(21)], alpha=0.6, label=label.replace("\n", " "))
    axes[1].set_xlabel("proposal vs verified mask IoU (per instance)")
    axes[1].set_title("mask quality")
    axes[2].set_xlabel("annotator seconds per frame (lead_time)")
    axes[2].set_title("annotation time")
    for ax in axes[1:]:
        ax.legend(fontsize=6)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path

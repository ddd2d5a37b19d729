"""Reports of an evaluation: the per-scenario table, CSV files, ``results.json`` and plots.

Tables and CSV are built from the metric registry (:mod:`avatar_bench.metrics.classes`), so a new metric shows
up in the CSV without changes here. :mod:`avatar_bench.plots` (matplotlib) is imported only when plotting; it
imports nothing from here.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from avatar_bench.io import atomic_write_json, atomic_write_text
from avatar_bench.metrics.classes import summary_by_subset

log = logging.getLogger(__name__)

# (row label, summary key of the value, summary key of its frame count)
TABLE_ROWS = (
    ("single        CIoU", "single_ciou", "n_single"),
    ("single        AUC", "single_auc", "n_single"),
    ("mixed         CIoU", "mixed_ciou", "n_mixed"),
    ("multi-entity  CIoU", "multi_entity_ciou", "n_multi_entity"),
    ("off-screen    TN", "off_screen_tn", "n_off_screen"),
    ("off-screen    AUROC", "offscreen_auroc", "n_frames"),
    ("total         CIoU", "total_ciou", "n_total"),
    ("cross-event   CIoU", "cross_event_ciou", "n_cross_event"),
    ("cross-event   Δ (pp)", "cross_event_delta", "n_cross_event"),
)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:+.2f}" if isinstance(v, float) and v < 0 else f"{v:.2f}"


def format_table(summary: Mapping[str, Any], settings: Mapping[str, Any] | None = None) -> str:
    """The paper's per-scenario table as text (values in %, '-' where a scenario has no frame)."""
    lines = []
    if settings:
        lines.append(f"binarize={settings.get('binarize')}  tau={settings.get('tau')}  "
                     f"frames={summary.get('n_frames', '?')}")
    lines.append(f"{'metric':<22}{'value':>8}{'frames':>9}")
    lines.append("-" * 39)
    for label, key, n_key in TABLE_ROWS:
        n = summary.get(n_key)
        lines.append(f"{label:<22}{_fmt(summary.get(key)):>8}{'' if n is None else n:>9}")
    return "\n".join(lines)


def summary_csv(summary: Mapping[str, Any]) -> str:
    """One row per subset, one column per metric field (generic over the registry)."""
    rows = summary_by_subset(summary)
    fields = [f for f in dict.fromkeys(f for row in rows.values() for f in row)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["subset", *fields])
    for subset, row in rows.items():
        writer.writerow([subset, *("" if (v := row.get(f)) is None or v != v else v for f in fields)])
    return buf.getvalue()


def per_frame_csv(result, gt) -> str:
    """One row per scored frame: ids, scenario, IoU and the sufficient statistics."""
    t = result.frames
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["image_id", "frame_key", "scenario", "cross_event", "iou", "inter", "pred_area", "gt_area",
                     "score"])
    for i, iou in enumerate(t.iou):
        im = gt.image_by_id[int(t.image_id[i])]
        writer.writerow([im.id, gt.frame_key(im), im.scenario, int(t.cross_event[i]), "" if iou != iou else iou,
                         int(t.inter[i]), int(t.pred_area[i]), int(t.gt_area[i]), float(t.score[i])])
    return buf.getvalue()


def write_outputs(result, gt, out_dir: str | Path, *, plots: bool = True, frames_root: str | Path | None = None,
                  n_overlays: int = 8) -> list[Path]:
    """Write results.json, results.csv, per_frame.csv and (optionally) plots under ``out_dir``; return paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "results.json", out / "results.csv", out / "per_frame.csv"]
    atomic_write_json(written[0], result.to_dict(), indent=2)
    atomic_write_text(written[1], summary_csv(result.summary))
    atomic_write_text(written[2], per_frame_csv(result, gt))
    if plots:
        from avatar_bench import plots as plot_mod

        written += plot_mod.plot_all(result, gt, out / "plots", frames_root=frames_root, n_overlays=n_overlays)
    return written

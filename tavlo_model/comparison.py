"""Tables of the TAVLO-vs-baseline comparison (``scripts/compare_tavlo_baseline.py``): per model, over seeds,
and each model's multi-entity/single CIoU ratio against what its view allows.

A model that finds the sounding category (single-sound CIoU ``s``) and then picks the sounding one of k
look-alikes with probability p scores about ``p * s`` on multi-entity frames, so the ratio multi/single estimates
p. It is read against two references measured on the same test frames (``avatar_bench.synth.cue``): *chance*
(mean 1/k) and the *temporal oracle* of the model's own view (T frames at the centres of T segments of its window,
correlated with each segment's RMS); for T = 1 the oracle is chance. ``progress`` = (ratio - chance) /
(oracle - chance): 0 at chance, 1 at the oracle.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

ROWS = [("single", "CIoU", "single_ciou"), ("", "AUC", "single_auc"), ("mixed", "CIoU", "mixed_ciou"),
        ("multi-entity", "CIoU", "multi_entity_ciou"), ("off-screen", "TN", "off_screen_tn"),
        ("", "AUROC", "offscreen_auroc"), ("total", "CIoU", "total_ciou"), ("cross-event", "CIoU", "cross_event_ciou"),
        ("", "delta", "cross_event_delta"), ("multi/single", "ratio", "multi_single_ratio")]


def multi_single_ratio(test: dict) -> float:
    """Multi-entity CIoU over single-sound CIoU (NaN when single is 0 or either is missing)."""
    multi, single = test.get("multi_entity_ciou", math.nan), test.get("single_ciou", math.nan)
    return multi / single if single and math.isfinite(single) and math.isfinite(multi) else math.nan


def view_references(data: Path, views: dict[str, tuple[int, float]], split: str = "test") -> dict[str, dict]:
    """Per model, the temporal oracle of its (T, clip_seconds) view, the best single-frame rule and chance on the
    multi-entity frames of ``split``."""
    from avatar_bench.synth.cue import model_view_check

    out = {}
    for name, (t, seconds) in views.items():
        cell = model_view_check(data, frames=[t], seconds=[seconds], splits=(split,))["grid"][0]
        out[name] = {"num_frames": t, "clip_seconds": seconds, "oracle": cell["temporal"],
                     "single_frame": cell["single_frame"], "chance": cell["chance"]}
    return out


def progress(ratio: float, ref: dict) -> float:
    """Where ``ratio`` sits between chance (0) and the model's-view oracle (1); NaN when they coincide."""
    span = ref["oracle"] - ref["chance"]
    return (ratio - ref["chance"]) / span if span > 1e-9 and math.isfinite(ratio) else math.nan


def _cell(v: float, width: int, digits: int = 2) -> str:
    return f"{'-' if v is None or math.isnan(v) else f'{v:.{digits}f}':>{width}}"


def reference_lines(refs: dict[str, dict], ratios: dict[str, float], width: int) -> list[str]:
    """Rows under a table: each model's view oracle and chance, and where its ratio sits between them."""
    names = list(ratios)
    view = [f"T={refs[n]['num_frames']}, {refs[n]['clip_seconds']:g} s" for n in names]
    return [f"{'  its view':<30}" + "".join(f"{v:>{width}}" for v in view),
            f"{'  oracle':<30}" + "".join(_cell(refs[n]["oracle"], width, 3) for n in names),
            f"{'  chance':<30}" + "".join(_cell(refs[n]["chance"], width, 3) for n in names),
            f"{'  progress chance->oracle':<30}" + "".join(_cell(progress(ratios[n], refs[n]), width)
                                                          for n in names)]


def format_side_by_side(results: dict[str, dict], title: str, refs: dict[str, dict] | None = None) -> str:
    """The per-scenario rows of every model in one table (percent; NaN shown as '-')."""
    names = list(results)
    lines = [f"{title:<30}" + "".join(f"{n:>22}" for n in names)]
    for group, metric, key in ROWS:
        values = [results[n]["test"].get(key, multi_single_ratio(results[n]["test"]) if key == "multi_single_ratio"
                                           else math.nan) for n in names]
        lines.append(f"{group:<14}{metric:<16}" + "".join(_cell(v, 22, 3 if key == "multi_single_ratio" else 2)
                                                          for v in values))
    if refs:
        lines += reference_lines(refs, {n: multi_single_ratio(results[n]["test"]) for n in names}, 22)
    lines.append(f"{'training':<14}{'minutes':<16}" + "".join(f"{r['train_seconds'] / 60:>22.1f}"
                                                           for r in results.values()))
    lines.append(f"{'':<14}{'steps':<16}" + "".join(f"{r['steps']:>22d}" for r in results.values()))
    return "\n".join(lines)


def aggregate(per_seed: dict[int, dict[str, dict]]) -> dict:
    """Mean over seeds of every test metric per model (and of the multi/single ratio), and the paired difference
    of the first model minus the second: mean, 95% t-interval (None with one seed) and in how many seeds the first
    model is ahead. Seeds where a metric is NaN (an empty scenario) are left out of that metric."""
    from scipy import stats

    seeds = sorted(per_seed)
    names = list(per_seed[seeds[0]])
    tests = {s: {n: {**per_seed[s][n]["test"], "multi_single_ratio": multi_single_ratio(per_seed[s][n]["test"])}
                 for n in names} for s in seeds}
    keys = sorted({k for s in seeds for n in names for k in tests[s][n]})
    out: dict = {"seeds": seeds, "models": names, "metrics": {},
                 "train_minutes": {n: [per_seed[s][n].get("train_seconds", math.nan) / 60 for s in seeds]
                                   for n in names}}
    for key in keys:
        vals = np.array([[tests[s][n].get(key, math.nan) for n in names] for s in seeds], dtype=float)
        vals = vals[~np.isnan(vals).any(axis=1)]
        row: dict = {"n": len(vals), "mean": {n: float(vals[:, i].mean()) if len(vals) else math.nan
                                               for i, n in enumerate(names)}}
        if len(names) == 2 and len(vals):
            diff = vals[:, 0] - vals[:, 1]
            half = (float(stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / math.sqrt(len(diff)))
                    if len(diff) > 1 else None)
            row["diff"] = {"mean": float(diff.mean()), "ci95": None if half is None else
                           [float(diff.mean() - half), float(diff.mean() + half)], "ahead": int((diff > 0).sum())}
        out["metrics"][key] = row
    return out


def format_seeds(agg: dict, title: str, refs: dict[str, dict] | None = None) -> str:
    """The per-scenario means over seeds, the paired difference with its 95% interval and the ahead count."""
    a, b = agg["models"]
    lines = [f"{title}, {len(agg['seeds'])} seeds {agg['seeds']}: mean over seeds; difference = {a} - {b}",
             f"{'':<30}{a:>20}{b:>20}{'difference [95% CI]':>26}{'ahead':>8}"]
    for group, metric, key in ROWS:
        row = agg["metrics"].get(key)
        if row is None or not row["n"]:
            continue
        d, digits = row["diff"], 3 if key == "multi_single_ratio" else 2
        ci = "" if d["ci95"] is None else f" [{d['ci95'][0]:+.{digits - 1}f}, {d['ci95'][1]:+.{digits - 1}f}]"
        diff, ahead = f"{d['mean']:+.{digits}f}{ci}", f"{d['ahead']}/{row['n']}"
        lines.append(f"{group:<14}{metric:<16}{row['mean'][a]:>20.{digits}f}{row['mean'][b]:>20.{digits}f}"
                     f"{diff:>26}{ahead:>8}")
    multi, single = agg["metrics"].get("multi_entity_ciou"), agg["metrics"].get("single_ciou")
    if refs and multi and single and single["n"]:
        of_means = {n: multi["mean"][n] / single["mean"][n] if single["mean"][n] else math.nan for n in (a, b)}
        lines.append(f"{'  ratio of the means':<30}" + "".join(_cell(of_means[n], 20, 3) for n in (a, b)))
        lines += reference_lines(refs, of_means, 20)
    lines.append(f"{'training':<14}{'minutes/seed':<16}" + "".join(
        f"{np.mean(agg['train_minutes'][n]):>20.1f}" for n in (a, b)))
    return "\n".join(lines)

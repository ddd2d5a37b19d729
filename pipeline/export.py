"""Release the reviewed annotations: train/val/test AVATAR-COCO files and a dataset card with a plot.

``export(src, out)`` reads the split files that ``review pull`` merges into (``src/{train,val,test}.json``),
checks them (structure must be sound; frames that break a scenario's definition are left out and listed in
the card), and writes ``out/{train,val,test}.json`` (always all three), ``out/dataset_card.md`` and
``out/dataset_card.png`` (frames per scenario and split; instances per category, sounding or silent).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avatar_bench.format import (
    SCENARIOS,
    SCHEMA_VERSION,
    SPLITS,
    AvatarDataset,
    scenario_problems,
    scenario_problems_by_image,
)
from avatar_bench.io import atomic_path, atomic_write_text
from pipeline.config import StrictConfig
from pipeline.errors import PipelineError
from pipeline.stats import StageStats

log = logging.getLogger(__name__)


@dataclass
class ExportConfig(StrictConfig):
    """Settings of ``export`` (loaded by :func:`pipeline.config.load_config` like every stage's)."""

    keep_inconsistent: bool = False  # keep frames that break their scenario's definition (listed either way)


def _load(path: Path) -> AvatarDataset:
    from avatar_bench.errors import AvatarFormatError

    try:
        return AvatarDataset.load(path) if path.exists() else AvatarDataset()
    except AvatarFormatError as exc:
        raise PipelineError(f"export: {exc}") from None


def _drop_inconsistent(ds: AvatarDataset) -> list[str]:
    """Remove the frames that break their scenario's definition; return their problems."""
    by_image = scenario_problems_by_image(ds)
    bad = set(by_image)
    if bad:
        ds.images = [im for im in ds.images if im.id not in bad]
        ds.annotations = [a for a in ds.annotations if a.image_id not in bad]
        kept_videos = {im.video_id for im in ds.images}
        ds.videos = [v for v in ds.videos if v.id in kept_videos]
        ds.invalidate_indexes()
    return [p for problems in by_image.values() for p in problems]


def split_stats(ds: AvatarDataset) -> dict[str, Any]:
    """Counts of one split: videos, frames, instances, per scenario, per category, review provenance."""
    names = {c.id: c.name for c in ds.categories}
    per_cat: dict[str, Counter] = {}
    for a in ds.annotations:
        per_cat.setdefault(names[a.category_id], Counter())["sounding" if a.sounding else "silent"] += 1
    edits = Counter("new" if a.extra.get("proposal_instance_id") is None else
                    "edited" if a.extra.get("proposal_changed") else "accepted" for a in ds.annotations)
    return {"videos": len(ds.videos), "frames": len(ds.images), "instances": len(ds.annotations),
            "sounding": sum(a.sounding for a in ds.annotations),
            "cross_event_videos": len(ds.cross_event_video_ids()),
            "scenarios": {s: sum(im.scenario == s for im in ds.images) for s in SCENARIOS},
            "categories": {k: dict(v) for k, v in sorted(per_cat.items())},
            "annotators": dict(Counter(str((im.extra.get("review") or {}).get("by", "?")) for im in ds.images)),
            "masks": dict(edits)}


def export(src: str | os.PathLike, out: str | os.PathLike, config: ExportConfig | None = None, *,
           keep_inconsistent: bool | None = None) -> StageStats:
    """Write the release files and the dataset card.

    Args:
        src: folder of the reviewed split files (``review pull``'s output).
        out: release folder (created).
        config: export settings.
        keep_inconsistent: overrides ``config.keep_inconsistent``.

    Returns:
        The stage's statistics: ``kept`` frames released, ``rejected`` (``breaks_scenario`` when left out),
        breakdown ``scenario``, counts ``videos``, ``instances``; info ``splits`` (per-split counts),
        ``excluded`` (problems), ``files``, ``card``.

    Raises:
        PipelineError: no split file in ``src``, or a structurally broken one.
    """
    config = config or ExportConfig()
    keep_inconsistent = config.keep_inconsistent if keep_inconsistent is None else keep_inconsistent
    src, out = Path(src), Path(out)
    if not any((src / f"{s}.json").exists() for s in SPLITS):
        raise PipelineError(f"export: no split file in {src} (expected train/val/test.json from `review pull`)")
    summary: dict[str, Any] = {"splits": {}, "excluded": [], "files": []}
    for split in SPLITS:
        ds = _load(src / f"{split}.json")
        problems = scenario_problems(ds) if keep_inconsistent else _drop_inconsistent(ds)
        summary["excluded"] += [f"{split} {p}" for p in problems]
        ds.info = {**ds.info, "version": ds.info.get("version", SCHEMA_VERSION),
                   "description": f"AVATAR {split} split", "date_created": dt.date.today().isoformat()}
        ds.validate(source=f"export {split}")
        ds.save(out / f"{split}.json")
        summary["files"].append(str(out / f"{split}.json"))
        summary["splits"][split] = split_stats(ds)
    plot = out / "dataset_card.png"
    _plot(summary["splits"], plot)
    summary["card"] = str(out / "dataset_card.md")
    atomic_write_text(out / "dataset_card.md", card_markdown(summary, src, keep_inconsistent))
    log.info("exported %d frames to %s", sum(s["frames"] for s in summary["splits"].values()), out)
    return _stats(summary, keep_inconsistent)


def _stats(summary: dict[str, Any], keep_inconsistent: bool) -> StageStats:
    stats = StageStats(stage="export", unit="frame", headline="{kept} frames, {videos} videos", info=summary)
    for split in summary["splits"].values():
        stats.keep(split["frames"])
        stats.count("videos", split["videos"])
        stats.count("instances", split["instances"])
        for scenario, n in split["scenarios"].items():
            stats.tally("scenario", scenario, n)
    if summary["excluded"] and not keep_inconsistent:
        stats.reject("breaks_scenario", len({p.split(":")[0] for p in summary["excluded"]}))
    return stats


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
           ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]


def card_markdown(summary: dict[str, Any], src: Path, keep_inconsistent: bool) -> str:
    """The dataset card: counts per split, scenario and category, review provenance, excluded frames."""
    splits = summary["splits"]
    lines = ["# AVATAR dataset card", "", f"Exported {dt.date.today().isoformat()} from `{src}` "
             f"(AVATAR-COCO schema {SCHEMA_VERSION}; masks are COCO RLE, reviewed in Label Studio).", "",
             "![frames per scenario and instances per category](dataset_card.png)", "", "## Splits", ""]
    lines += _table(["split", "videos", "frames", "instances", "sounding", "cross-event videos"],
                    [[s, v["videos"], v["frames"], v["instances"], v["sounding"], v["cross_event_videos"]]
                     for s, v in splits.items()])
    lines += ["", "## Frames per scenario", ""]
    lines += _table(["scenario", *SPLITS, "total"],
                    [[sc, *(splits[s]["scenarios"][sc] for s in SPLITS),
                      sum(splits[s]["scenarios"][sc] for s in SPLITS)] for sc in SCENARIOS])
    cats = sorted({c for v in splits.values() for c in v["categories"]})
    lines += ["", "## Instances per category", ""]
    lines += _table(["category", "sounding", "silent", "total"],
                    [[c, n_s, n_q, n_s + n_q] for c in cats
                     for n_s, n_q in [(sum(splits[s]["categories"].get(c, {}).get("sounding", 0) for s in SPLITS),
                                       sum(splits[s]["categories"].get(c, {}).get("silent", 0) for s in SPLITS))]])
    masks, annotators = Counter(), Counter()
    for v in splits.values():
        masks.update(v["masks"])
        annotators.update(v["annotators"])
    lines += ["", "## Review", "", f"Masks: {masks.get('accepted', 0)} proposals accepted as they were, "
              f"{masks.get('edited', 0)} edited, {masks.get('new', 0)} drawn by annotators.", ""]
    lines += _table(["annotator", "frames"], [[a, n] for a, n in annotators.most_common()])
    verb = "kept (--keep-inconsistent)" if keep_inconsistent else "left out"
    lines += ["", f"## Frames that break their scenario's definition ({len(summary['excluded'])}, {verb})", ""]
    lines += [f"- {p}" for p in summary["excluded"][:200]] or ["None."]
    return "\n".join(lines) + "\n"


def _plot(splits: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    x = np.arange(len(SCENARIOS))
    for k, split in enumerate(SPLITS):
        ax1.bar(x + (k - 1) * 0.27, [splits[split]["scenarios"][s] for s in SCENARIOS], 0.27, label=split)
    ax1.set_xticks(x, SCENARIOS)
    ax1.set_ylabel("frames")
    ax1.set_title("Frames per scenario")
    ax1.legend()
    cats = sorted({c for v in splits.values() for c in v["categories"]})
    sounding = [sum(v["categories"].get(c, {}).get("sounding", 0) for v in splits.values()) for c in cats]
    silent = [sum(v["categories"].get(c, {}).get("silent", 0) for v in splits.values()) for c in cats]
    ax2.barh(cats, sounding, label="sounding")
    ax2.barh(cats, silent, left=sounding, label="silent")
    ax2.set_xlabel("instances")
    ax2.set_title("Instances per category")
    ax2.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)

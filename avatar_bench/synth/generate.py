"""``generate()``: make an AVATAR-Synth dataset, in parallel, resumably and deterministically.

Each clip depends only on ``(seed, index)`` and the settings, so the order and the number of worker
processes do not change a byte. A clip is complete when its meta file exists (written last); a rerun
keeps complete clips and rebuilds the dataset-level files (annotations, CSV, ``synth.json``) from the metas.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from avatar_bench.format import scenario_problems
from avatar_bench.io import atomic_write_json, atomic_write_text
from avatar_bench.naming import clip_file_name
from avatar_bench.synth.clip import GENERATOR_VERSION
from avatar_bench.synth.config import ClipPlan, SynthConfig, SynthError, plan_clips, resolve_config
from avatar_bench.synth.dataset import build_splits, coco_categories, vggsound_csv
from avatar_bench.synth.scene import build_scene, video_name

log = logging.getLogger(__name__)


def _make(job: tuple[str, int, dict[str, Any], ClipPlan]) -> tuple[str, int]:
    """Worker: build and write one clip; returns its name and number of annotated frames."""
    from avatar_bench.synth.clip import make_clip

    out_dir, seed, cfg_dict, plan = job
    cfg = SynthConfig(**cfg_dict)
    scene = build_scene(seed=seed, index=plan.index, kind=plan.kind, split=plan.split, defect=plan.defect,
                        width=cfg.width, height=cfg.height, fps=cfg.fps, duration_s=cfg.duration_s)
    meta = make_clip(Path(out_dir), scene, frames_per_video=cfg.frames_per_video, x264_preset=cfg.x264_preset,
                     crf=cfg.crf, config=cfg_dict)
    return scene.name, len(meta["annotated_frames"])


def is_complete(out_dir: Path, name: str) -> bool:
    """A clip is complete when its meta (written last) and its video both exist."""
    return (out_dir / "meta" / f"{name}.json").is_file() and (out_dir / "videos" / clip_file_name(name)).is_file()


def _check_settings(out_dir: Path, stamp: dict[str, Any]) -> None:
    """Refuse to resume into a folder made with other settings (its clips would not match)."""
    path = out_dir / "synth.json"
    if not path.is_file():
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SynthError(f"{path}: unreadable ({exc}); remove it or choose another --out") from None
    old_stamp = {k: old.get(k) for k in stamp}
    if old_stamp != stamp:
        diff = sorted(k for k in {**(old.get("config") or {}), **stamp["config"]}
                      if (old.get("config") or {}).get(k) != stamp["config"].get(k))
        diff += [k for k in ("seed", "generator_version") if old.get(k) != stamp[k]]
        raise SynthError(f"{out_dir} holds a dataset made with other settings (differs in {diff}); "
                         "choose another --out or remove it")


def generate(out_dir: str | os.PathLike, preset: str = "tiny", seed: int = 0, workers: int | None = None,
             progress: bool = True, **overrides: Any) -> dict[str, Any]:
    """Generate (or finish) an AVATAR-Synth dataset in ``out_dir``.

    Args:
        out_dir: output folder (layout: see docs/synth.md).
        preset: ``tiny`` | ``small`` | ``full``.
        seed: dataset seed; clip ``i`` depends only on ``(seed, i)`` and the settings.
        workers: processes to use (default: all cores); 1 runs in this process.
        progress: show a tqdm bar.
        **overrides: settings of :class:`SynthConfig` (``width``, ``height``, ``fps``, ``duration_s``,
            ``n_train``, ``n_val``, ``n_test``, ``n_bad``, ``frames_per_video``, ``x264_preset``, ``crf``).

    Returns:
        A summary: counts of clips made and kept, frames and annotations per split, scenario counts, seconds.
    """
    if not isinstance(seed, int) or seed < 0:
        raise SynthError(f"seed must be a non-negative integer, got {seed!r}")
    cfg = resolve_config(preset, **overrides)
    out = Path(out_dir)
    stamp = {"seed": seed, "config": cfg.to_dict(), "generator_version": GENERATOR_VERSION}
    _check_settings(out, stamp)
    for sub in ("videos", "meta", "frames", "annotations"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(out)
    atomic_write_json(out / "synth.json", {**stamp, "complete": False}, indent=2)
    plans = plan_clips(cfg)
    todo = [p for p in plans if not is_complete(out, video_name(p.index))]
    started = time.perf_counter()
    _run(out, seed, cfg, todo, workers, progress, total=len(plans))
    elapsed = time.perf_counter() - started
    summary = finalize(out, seed, cfg, plans)
    summary.update(made=len(todo), kept=len(plans) - len(todo), seconds=round(elapsed, 2))
    log.info("AVATAR-Synth %s: %d clips made, %d kept, %.1f s", preset, len(todo), summary["kept"], elapsed)
    return summary


def _remove_stale_temps(out: Path) -> None:
    """Delete the temporary files of writes that a killed run left half-done (``.<name>.<random>.tmp``)."""
    for pattern in ("videos/.*.tmp", "meta/.*.tmp", "frames/*/.*.tmp", "annotations/.*.tmp", ".*.tmp"):
        for path in out.glob(pattern):
            path.unlink(missing_ok=True)


def _run(out: Path, seed: int, cfg: SynthConfig, todo: list[ClipPlan], workers: int | None, progress: bool,
         total: int) -> None:
    from tqdm.auto import tqdm

    jobs = [(str(out), seed, cfg.to_dict(), p) for p in todo]
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    bar = tqdm(total=total, initial=total - len(todo), desc="avatar-synth", unit="clip", disable=not progress)
    try:
        if n_workers == 1:
            for job in jobs:
                _make(job)
                bar.update(1)
        else:
            # spawn, not fork: callers may hold threads (torch, Prefect) that a fork would copy half-way
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(n_workers) as pool:
                for _ in pool.imap_unordered(_make, jobs, chunksize=1):
                    bar.update(1)
    finally:
        bar.close()


def finalize(out: Path, seed: int, cfg: SynthConfig, plans: list[ClipPlan]) -> dict[str, Any]:
    """Rebuild annotations, ``vggsound.csv`` and ``synth.json`` from the meta files of ``plans``."""
    metas = []
    for p in plans:
        path = out / "meta" / f"{video_name(p.index)}.json"
        metas.append(json.loads(path.read_text(encoding="utf-8")))
    splits = build_splits(metas, description=f"AVATAR-Synth {cfg.preset} (seed {seed})")
    counts: dict[str, Any] = {}
    for split, ds in splits.items():
        ds.validate(source=f"synth {split}")
        problems = scenario_problems(ds)
        if problems:  # a generator bug, never bad input
            raise SynthError(f"synth {split}: ground truth breaks the scenario definitions", problems)
        ds.save(out / "annotations" / f"{split}.json")
        counts[split] = {"videos": len(ds.videos), "images": len(ds.images), "annotations": len(ds.annotations),
                         "scenarios": dict(Counter(im.scenario for im in ds.images)),
                         "cross_event_videos": len(ds.cross_event_video_ids())}
    atomic_write_text(out / "vggsound.csv", vggsound_csv(metas))
    rejected = dict(Counter(m["expected_rejection"] for m in metas if m["expected_rejection"]))
    summary = {"out_dir": str(out), "preset": cfg.preset, "seed": seed, "videos": len(metas),
               "good_videos": len(metas) - sum(rejected.values()), "bad_videos": rejected, "splits": counts,
               "images": sum(c["images"] for c in counts.values())}
    atomic_write_json(out / "synth.json", {"seed": seed, "config": cfg.to_dict(),
                                           "generator_version": GENERATOR_VERSION, "complete": True,
                                           "categories": [c.to_dict() for c in coco_categories()], "counts": summary},
                      indent=2)
    return summary

"""Train TAVLO and the EZ-VSL-style single-frame baseline on the same AVATAR-Synth set; print both tables.

    python scripts/compare_tavlo_baseline.py --data data/synth_small --out runs/compare [--generate]
    python scripts/compare_tavlo_baseline.py --data data/synth_small --out runs/compare --seeds 0 1 2 3 --jobs 4

Both models use the same data, seed, trainer and heatmap calibration (``tavlo_model/configs/synth_small_*.yaml``:
sized for a 2-core CPU, equal wall-clock). Each is trained, its best checkpoint (validation total CIoU) writes an
``avatar-eval`` submission for the test split, and ``avatar_bench.evaluate`` scores it; the per-scenario tables
are printed side by side with the training times and saved to ``OUT/comparison.json``. Under each table: every
model's multi-entity/single CIoU ratio beside the temporal oracle of its own view (``avatar-synth check-cue``'s
model view at its T and clip_seconds, on the test split; saved to ``OUT/references.json``) and chance, and where
the ratio sits between the two (``tavlo_model.comparison``).

With ``--seeds`` each seed is a full comparison in ``OUT/seed<S>/`` (a finished one is reused, so a rerun
resumes), ``--jobs`` of them at once in their own processes (small models share one GPU well); then the mean of
each metric over seeds, the paired difference TAVLO - baseline with its 95% t-interval, and the number of seeds
where TAVLO is ahead are printed and saved to ``OUT/seeds.json``. The data set is the same for every seed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from avatar_bench.format import AvatarDataset
from avatar_bench.io import atomic_write_json, atomic_write_text
from tavlo_model.comparison import aggregate, format_seeds, format_side_by_side, view_references
from tavlo_model.config import load_config
from tavlo_model.errors import TavloError
from tavlo_model.infer import predict, write
from tavlo_model.train import train

REPO = Path(__file__).resolve().parents[1]

MODELS = {"TAVLO (T=4)": "synth_small_tavlo.yaml", "EZ-VSL-style (T=1)": "synth_small_ezvsl.yaml"}
QUICK = ["--max_steps=4", "--batch_size=4", "--epochs=4"]  # tiny preset: 4 training clips


def run_model(config: Path, data: Path, out: Path, seed: int, overrides: list[str], cache_dir: Path) -> dict:
    """Train one model, write its test submission and score it; return training summary and test metrics."""
    from avatar_bench.evaluate import evaluate

    cfg = load_config(config, [f"--data.root={data}", f"--out_dir={out}", f"--seed={seed}",
                               f"--data.cache_dir={cache_dir}", *overrides])
    t0 = time.perf_counter()
    summary = train(cfg)
    train_s = time.perf_counter() - t0
    ckpt = out / "best.pt" if (out / "best.pt").exists() else out / "last.pt"
    gt = AvatarDataset.load(data / "annotations" / "test.json")
    heatmaps = predict(ckpt, gt, data / "videos", batch_size=cfg.batch_size, workers=cfg.data.num_workers,
                       cache_dir=cfg.data.cache_dir, device=cfg.device)
    write(out / "submission.npz", heatmaps)
    result = evaluate(gt, heatmaps)
    return {"config": str(config), "checkpoint": str(ckpt), "steps": summary["steps"], "train_seconds": train_s,
            "test": {k: float(v) for k, v in result.summary.items()}}


def references(data: Path, configs: Path, overrides: list[str], out: Path) -> dict[str, dict]:
    """Each model's view oracle, single-frame rule and chance on the test split (``OUT/references.json``, reused
    while the data and the views are the same)."""
    views = {}
    for name, cfg_name in MODELS.items():
        cfg = load_config(configs / cfg_name, [f"--data.root={data}", *overrides])
        views[name] = (cfg.model.num_frames, cfg.model.clip_seconds)
    path = out / "references.json"
    key = {"data": str(data.resolve()), "views": {n: list(v) for n, v in views.items()}}
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("key") == key:
            return saved["references"]
    refs = view_references(data, views)
    atomic_write_json(path, {"key": key, "references": refs}, indent=2)
    return refs


def _fill(job: tuple) -> str | None:
    cache, path, name = job
    try:
        cache.get(path, name)
    except TavloError as exc:  # an unusable video: training skips it with its reason
        return f"{name}: {exc}"
    return None


def warm_cache(data: Path, cache_dir: Path, configs: Path, overrides: list[str], workers: int) -> int:
    """Decode every video the comparison reads into the shared frame cache once, ``workers`` at a time, so the
    parallel seeds read memory maps instead of decoding the same videos at once. Returns the entries written."""
    from concurrent.futures import ProcessPoolExecutor

    from tavlo_model.data import ClipDataset, items_from_gt, training_items

    jobs = {}
    for cfg_name in MODELS.values():
        cfg = load_config(configs / cfg_name, [f"--data.root={data}", f"--data.cache_dir={cache_dir}", *overrides])
        train = ClipDataset(training_items(cfg.data), cfg.model, cfg.data, train=True)
        evals = [it for split in ("val", "test") if (data / "annotations" / f"{split}.json").is_file()
                 for it in items_from_gt(AvatarDataset.load(data / "annotations" / f"{split}.json"), data / "videos")]
        evaluation = ClipDataset(evals, cfg.model, cfg.data, train=False)
        for ds in (train, evaluation):
            for it in ds.items:
                jobs[(ds.cache.size, ds.cache.audio, it.name)] = (ds.cache, it.path, it.name)
    with ProcessPoolExecutor(max(1, workers)) as pool:
        skipped = [r for r in pool.map(_fill, jobs.values(), chunksize=4) if r]
    print(f"compare: frame cache {cache_dir}: {len(jobs)} entries ready, {len(skipped)} unusable", file=sys.stderr)
    return len(jobs)


def run_seeds(a: argparse.Namespace, data: Path, out: Path, overrides: list[str]) -> dict[int, dict[str, dict]]:
    """One comparison per seed in ``out/seed<S>`` (finished ones reused), ``a.jobs`` at a time in subprocesses;
    ``overrides`` (with the --quick ones) only size the cache warm-up: the children get ``a.overrides``."""
    per_seed: dict[int, dict[str, dict]] = {}
    todo = []
    for seed in a.seeds:
        saved = out / f"seed{seed}" / "comparison.json"
        if saved.is_file():
            per_seed[seed] = json.loads(saved.read_text(encoding="utf-8"))
            print(f"compare: seed {seed}: reusing {saved}", file=sys.stderr)
        else:
            todo.append(seed)
    cache_dir = Path(a.cache_dir or out / "cache")
    if todo and a.jobs > 1:
        warm_cache(data, cache_dir, Path(a.configs), overrides, os.cpu_count() or 1)
    running: list[tuple[int, subprocess.Popen]] = []
    failed = []
    while todo or running:
        while todo and len(running) < a.jobs:
            seed = todo.pop(0)
            me = ["-m", __spec__.name] if __spec__ is not None else [str(Path(__file__).resolve())]  # as this one runs
            cmd = [sys.executable, *me, "--data", str(data),
                   "--out", str(out / f"seed{seed}"), "--seed", str(seed), "--configs", a.configs,
                   "--cache-dir", str(cache_dir),
                   *(["--quick"] if a.quick else []), "--", *a.overrides]
            with open(out / f"seed{seed}.log", "w", encoding="utf-8") as log:  # the child keeps its own copy
                running.append((seed, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)))
        time.sleep(0.5)
        for seed, proc in list(running):
            if proc.poll() is not None:
                running.remove((seed, proc))
                saved = out / f"seed{seed}" / "comparison.json"
                if proc.returncode == 0 and saved.is_file():
                    per_seed[seed] = json.loads(saved.read_text(encoding="utf-8"))
                else:
                    failed.append(seed)
                    print(f"compare: seed {seed} failed (exit {proc.returncode}); see {out / f'seed{seed}.log'}",
                          file=sys.stderr)
    if failed:
        raise TavloError(f"{len(failed)} of {len(a.seeds)} seeds failed: {sorted(failed)}; rerun to retry them")
    return per_seed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="AVATAR-Synth folder (generated with --generate when absent)")
    p.add_argument("--out", default="runs/compare")
    p.add_argument("--generate", action="store_true", help="generate the 'small' preset into --data first")
    p.add_argument("--seed", type=int, default=0, help="training seed (and the seed of a --generate'd set)")
    p.add_argument("--seeds", type=int, nargs="+", help="one comparison per seed, then means and 95%% intervals")
    p.add_argument("--jobs", type=int, default=1, help="with --seeds: how many seeds run at once")
    p.add_argument("--cache-dir", help="frame cache shared by both models (default OUT/cache)")
    p.add_argument("--configs", default=str(REPO / "tavlo_model" / "configs"), help="folder of the two YAMLs")
    p.add_argument("--quick", action="store_true", help="a smoke run: a few steps each (for the 'tiny' preset)")
    p.add_argument("overrides", nargs="*", help="--key=value applied to both models (after --)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data, out = Path(a.data), Path(a.out)
    if a.generate and not (data / "annotations" / "test.json").exists():
        from avatar_bench.synth import generate

        generate(data, preset="tiny" if a.quick else "small", seed=a.seed)
    overrides = [*QUICK, *a.overrides] if a.quick else a.overrides
    out.mkdir(parents=True, exist_ok=True)
    if a.seeds:
        if len(set(a.seeds)) != len(a.seeds) or a.jobs < 1:
            p.error("--seeds must be distinct and --jobs at least 1")
        try:
            per_seed = run_seeds(a, data, out, overrides)
        except TavloError as exc:
            print(f"compare: error: {exc}", file=sys.stderr)
            return 2
        agg = aggregate(per_seed)
        refs = references(data, Path(a.configs), overrides, out)
        n = int(agg["metrics"].get("n_frames", {}).get("mean", {}).get(agg["models"][0], 0))
        table = format_seeds(agg, f"{data.name} test ({n} frames)", refs)
        atomic_write_json(out / "seeds.json", {"per_seed": per_seed, "aggregate": agg, "references": refs}, indent=2)
        atomic_write_text(out / "seeds.txt", table + "\n")
        print(table)
        return 0
    try:
        results = {name: run_model(Path(a.configs) / cfg, data, out / Path(cfg).stem, a.seed, overrides,
                                   Path(a.cache_dir) if a.cache_dir else out / "cache")
                   for name, cfg in MODELS.items()}
    except TavloError as exc:
        print(f"compare: error: {exc}", file=sys.stderr)
        return 2
    n = int(next(iter(results.values()))["test"].get("n_frames", 0))
    table = format_side_by_side(results, f"{data.name} test ({n} frames)", references(data, Path(a.configs),
                                                                                      overrides, out))
    atomic_write_text(out / "comparison.txt", table + "\n")
    atomic_write_json(out / "comparison.json", results, indent=2)  # last: it marks a finished seed
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

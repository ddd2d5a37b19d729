"""TAVLO training speed on the CPU: samples/s and the share of time spent waiting for data.

    python -m benchmarks.train_speed [--data SYNTH_DIR] [--model tavlo_r18_t4_cpu] [--batch 8] [--steps 6]

Runs the real training step (``tavlo_model.engine.train_one_epoch``) for a few optimizer steps with four
inputs, all in the same run: decoding every clip in the main process (the baseline), decoding in 2 DataLoader
workers, reading from the warm frame cache in 2 workers, and random tensors (the compute ceiling). Without
``--data`` an AVATAR-Synth ``tiny`` set is generated in a temporary folder (real 640x360, 10 s H.264/AAC clips).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from tavlo_model.config import update
from tavlo_model.data import ClipDataset, training_items, usable
from tavlo_model.throughput import make_config, real, synthetic


def warm_cache(cfg) -> float:
    """Decode every training video into the cache once; return the seconds it took."""
    t0 = time.perf_counter()
    ds = ClipDataset(usable(training_items(cfg.data)), cfg.model, cfg.data, train=True)
    for item in ds.items:
        ds.cache.get(item.path, item.name)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="", help="AVATAR-Synth folder (default: generate 'tiny' in a temp folder)")
    p.add_argument("--model", default="tavlo_r18_t4_cpu")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = a.data
        if not data:
            from avatar_bench.synth import generate

            data = str(Path(tmp) / "synth")
            generate(data, preset="tiny", seed=0, workers=2, n_test=0, n_val=0, n_bad=0)
        cfg = make_config(a.model, a.batch, None, None, "off", -1, "cpu")
        runs = {}
        for name, workers, cache in (("decode, main process", 0, ""), ("decode, 2 workers", 2, ""),
                                     ("frame cache, 2 workers", 2, str(Path(tmp) / "cache"))):
            update(cfg, {"data": {"root": data, "num_workers": workers, "cache_dir": cache}})
            if cache:
                print(f"cache warm-up (decode once): {warm_cache(cfg):.1f} s", flush=True)
            runs[name] = real(cfg, a.steps, warmup=1)
        runs["random tensors (ceiling)"] = synthetic(cfg, a.steps, warmup=1)
    base = runs["decode, main process"]["samples_per_s"]
    m = cfg.model
    print(f"\n{a.model}: batch {a.batch}, T={m.num_frames}, {m.img_size} px, {a.threads} threads, {a.steps} steps")
    print(f"{'input':<28}{'samples/s':>10}{'step s':>8}{'data wait':>11}{'vs baseline':>13}")
    for name, r in runs.items():
        print(f"{name:<28}{r['samples_per_s']:>10.2f}{r['step_ms'] / 1000:>8.2f}{100 * r['data_wait_share']:>10.0f}%"
              f"{r['samples_per_s'] / base:>12.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

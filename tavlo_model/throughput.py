"""Training throughput: synthetic tensors (compute only) and the real data loader, on the CPU or a GPU.

    python -m tavlo_model.throughput --device cuda --batch 128 --frames 4 --img 224 --data DIR --out gpu.json

Measures optimizer steps of the real training step (``engine.train_one_epoch``: AMP, loss, backward, Adam):
samples/s, step time, the share of wall time spent waiting for the loader, peak GPU memory, and GPU
utilisation sampled from NVML (``torch.cuda.utilization``) or ``nvidia-smi`` while the steps run.
``scripts/gpu_train_check.sh`` drives it on an H100/H200; ``benchmarks/train_speed.py`` on the CPU.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import threading

import torch

from tavlo_model.config import TrainConfig, update
from tavlo_model.data import ClipDataset, ShardSampler, training_items, usable
from tavlo_model.dist import pick_device
from tavlo_model.engine import TrainState, train_one_epoch
from tavlo_model.registry import model_config
from tavlo_model.train import PREFETCH, build_context, make_loader


class GpuSampler:
    """Sample GPU utilisation (%) in a background thread while a block runs."""

    def __init__(self, device: torch.device, every_s: float = 0.2):
        self.device, self.every_s, self.values, self._stop = device, every_s, [], threading.Event()

    def _read(self) -> float | None:
        try:
            return float(torch.cuda.utilization(self.device))
        except Exception:  # no pynvml: fall back to nvidia-smi
            smi = shutil.which("nvidia-smi")
            if not smi:
                return None
            out = subprocess.run([smi, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                                  "-i", str(self.device.index or 0)], capture_output=True, text=True, timeout=5)
            return float(out.stdout.strip().splitlines()[0]) if out.returncode == 0 and out.stdout.strip() else None

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            value = self._read()
            if value is not None:
                self.values.append(value)

    def __enter__(self):
        if self.device.type == "cuda":
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self.device.type == "cuda":
            self._thread.join()

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values) if self.values else float("nan")


def make_config(model: str, batch: int, frames: int | None, img: int | None, amp: str, negatives: int,
                device: str, **model_overrides) -> TrainConfig:
    """A TrainConfig for timing: variant ``model`` with the given batch, T, image size and AMP mode."""
    over = {k: v for k, v in {"num_frames": frames, "img_size": img, **model_overrides}.items() if v is not None}
    cfg = TrainConfig(model=model_config(model, **over))
    update(cfg, {"batch_size": batch, "amp": amp, "num_negatives": negatives, "device": device, "log_every": 10**9})
    cfg.check()
    return cfg


def _time_steps(cfg: TrainConfig, loader, steps: int, warmup: int) -> dict:
    device = pick_device(cfg.device)
    torch.manual_seed(0)
    ctx = build_context(cfg, device, total_steps=steps + warmup)
    train_one_epoch(ctx, itertools.islice(loader, warmup), TrainState())  # compile kernels, fill caches
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    with GpuSampler(device) as gpu:
        stats = train_one_epoch(ctx, itertools.islice(loader, steps), TrainState())
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    return {"samples_per_s": stats["samples_per_s"], "step_ms": 1000 * cfg.batch_size / stats["samples_per_s"],
            "data_wait_share": stats["data_wait_share"], "gpu_util_pct": gpu.mean, "peak_mem_gib": peak,
            "amp": str(ctx.dtype).replace("torch.", "") if ctx.dtype else "off", "device": str(device)}


def synthetic(cfg: TrainConfig, steps: int = 10, warmup: int = 2) -> dict:
    """Steps on random tensors already on the device: the compute ceiling, no decoding."""
    device = pick_device(cfg.device)
    m = cfg.model
    batch = {"frames": torch.randn(cfg.batch_size, m.num_frames, 3, m.img_size, m.img_size, device=device),
             "spec": torch.randn(cfg.batch_size, 1, m.n_mels, m.spec_frames, device=device)}
    return _time_steps(cfg, itertools.repeat(batch), steps, warmup)


def real(cfg: TrainConfig, steps: int = 10, warmup: int = 2) -> dict:
    """Steps on clips decoded by the DataLoader workers (``cfg.data``: source, workers, cache)."""
    # While the first (slow, kernel-selecting) steps run, every worker prefetches its batches; timed steps served
    # from that backlog measure the model, not the loader (seen on an H100: 0% wait at 16x the decoding rate).
    # Warm up until the backlog is gone, so the timed steps see the loader's steady rate.
    warmup = max(warmup, PREFETCH * cfg.data.num_workers + 1)
    items = usable(training_items(cfg.data))
    dataset = ClipDataset(items, cfg.model, cfg.data, train=True, seed=0)
    needed = (steps + warmup) * cfg.batch_size
    dataset.repeats = max(dataset.repeats, -(-needed // max(len(items), 1)))  # enough windows for the timed steps
    loader = make_loader(dataset, ShardSampler(len(dataset), shuffle=True), cfg.batch_size, cfg.data.num_workers,
                         True, pick_device(cfg.device))
    return {**_time_steps(cfg, iter(loader), steps, warmup), "warmup_steps": warmup}


def main(argv: list[str] | None = None) -> int:
    """Time synthetic and (with ``--data``) real-loader training steps; print a table, optionally write JSON."""
    p = argparse.ArgumentParser(prog="python -m tavlo_model.throughput", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="tavlo_r18_t4")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--frames", type=int, default=None, help="T (default: the variant's)")
    p.add_argument("--img", type=int, default=None, help="frame size (default: the variant's)")
    p.add_argument("--amp", default="auto", choices=("auto", "bf16", "fp16", "off"))
    p.add_argument("--negatives", type=int, default=15, help="negative pairs per clip")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--data", default="", help="AVATAR-Synth folder for the real-loader run")
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--cache-dir", default="", help="frame cache for the real-loader run")
    p.add_argument("--model-overrides", default="{}", help="JSON of extra ModelConfig fields (tiny test runs)")
    p.add_argument("--no-synthetic", action="store_true", help="time the real loader only")
    p.add_argument("--out", default="", help="write the results as JSON here")
    a = p.parse_args(argv)
    cfg = make_config(a.model, a.batch, a.frames, a.img, a.amp, a.negatives, a.device, **json.loads(a.model_overrides))
    rows = {} if a.no_synthetic else {"synthetic": synthetic(cfg, a.steps, a.warmup)}
    if a.data:
        update(cfg, {"data": {"root": a.data, "num_workers": a.workers, "cache_dir": a.cache_dir}})
        rows["real loader" + (" (cache)" if a.cache_dir else "")] = real(cfg, a.steps, a.warmup)
    m = cfg.model
    print(f"{a.model}: batch {a.batch}, T={m.num_frames}, {m.img_size} px, {a.negatives} negatives/clip")
    print(f"{'input':<22}{'samples/s':>11}{'step ms':>10}{'wait':>7}{'GPU util':>10}{'peak GiB':>10}  amp")
    for name, r in rows.items():
        print(f"{name:<22}{r['samples_per_s']:>11.1f}{r['step_ms']:>10.1f}{100 * r['data_wait_share']:>6.0f}%"
              f"{r['gpu_util_pct']:>9.0f}%{r['peak_mem_gib']:>10.2f}  {r['amp']}")
    if a.out:
        with open(a.out, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(a), "results": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

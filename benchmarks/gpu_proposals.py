"""Full-size proposal backends with random weights: batching vs one frame at a time, frames/s, peak memory.

Meant for a GPU machine with no network (nothing is downloaded: YOLOv8x is built from its YAML with the 601-class
Open Images V7 head, SAM ViT-H and CAV-MAE from their architectures). ``--tiny`` runs the same code path with
tiny models on a CPU (what the tests do). Run through ``scripts/gpu_proposals_check.sh``.

Prints a table and writes it as JSON to ``--out`` (default ``$OUT/gpu_proposals.json`` when ``$OUT`` is set).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _peak_mb(device: str) -> float | None:
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**20, 1) if device.startswith("cuda") else None


def _reset_peak(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _timed(fn, frames: int, device: str, repeat: int) -> tuple[float, float | None]:
    """Best-of-``repeat`` frames/s of ``fn()`` (after one warm-up) and the peak GPU memory of the runs."""
    fn()
    _sync(device)
    _reset_peak(device)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return frames / best, _peak_mb(device)


def bench_detector(images, device: str, tiny: bool, batch: int, repeat: int) -> list[dict]:
    from pipeline.proposals.detector import YoloDetector

    arch = "yolov8n.yaml" if tiny else "yolov8x.yaml"
    det = YoloDetector(arch, device=device, conf=0.01, batch_size=batch, num_classes=601, class_names="oiv7",
                       half=device.startswith("cuda"))
    rows = []
    for bs in (1, batch):
        det.batch_size = bs
        fps, peak = _timed(lambda: det.detect(images), len(images), device, repeat)
        rows.append({"backend": f"YOLOv8{'n' if tiny else 'x'} OIV7-601 (random)", "batch": bs, "frames_per_s": fps,
                     "peak_mb": peak})
    return rows


def bench_segmenter(images, device: str, tiny: bool, batch: int, repeat: int, boxes_per_frame: int = 5) -> list[dict]:
    import torch

    from pipeline.proposals.segmenter import SAM_VARIANTS, SamSegmenter, build_sam

    torch.manual_seed(0)
    variant = "tiny" if tiny else "vit_h"
    seg = SamSegmenter(device=device, sam=build_sam(SAM_VARIANTS[variant]), batch_size=1)
    h, w = images[0].shape[:2]
    rng = np.random.default_rng(0)
    boxes = []
    for _ in images:
        x0, y0 = rng.uniform(0, w / 2, boxes_per_frame), rng.uniform(0, h / 2, boxes_per_frame)
        boxes.append(np.stack([x0, y0, x0 + w / 3, y0 + h / 3], 1).tolist())
    rows = []
    for bs in (1, batch):
        seg.batch_size = bs
        fps, peak = _timed(lambda: seg.segment(images, boxes), len(images), device, repeat)
        rows.append({"backend": f"SAM {variant} (random), {boxes_per_frame} boxes/frame", "batch": bs,
                     "frames_per_s": fps, "peak_mb": peak})
    return rows


def bench_cavmae(count: int, device: str, tiny: bool, batch: int, repeat: int) -> list[dict]:
    import torch

    from pipeline.proposals.cavmae import CAVMAEFT, CavMaeConfig
    from pipeline.proposals.taggers import CavMaeTagger

    torch.manual_seed(0)
    cfg = CavMaeConfig(embed_dim=32, modality_specific_depth=1, total_depth=2, num_heads=2, audio_length=256,
                       img_size=32) if tiny else CavMaeConfig()
    tagger = CavMaeTagger(model=CAVMAEFT(cfg), device=device, window_s=2.0)
    wave = np.random.default_rng(0).standard_normal(16000 * 10).astype(np.float32) * 0.1
    centers = list(np.linspace(1, 9, count))
    rows = []
    for bs in (1, batch):
        tagger.batch_size = bs
        fps, peak = _timed(lambda: tagger.score_windows(wave, centers), count, device, repeat)
        rows.append({"backend": f"CAV-MAE {'tiny' if tiny else 'base'} (random), 2 s windows", "batch": bs,
                     "frames_per_s": fps, "peak_mb": peak})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny models (CPU check of this script)")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--size", default="640x360", help="frame WxH")
    parser.add_argument("--out", type=Path, default=Path(os.environ["OUT"]) / "gpu_proposals.json"
                        if os.environ.get("OUT") else None)
    args = parser.parse_args(argv)
    from pipeline.proposals.runtime import ensure_offline_env, resolve_device

    ensure_offline_env()
    device = resolve_device(args.device)
    w, h = (int(v) for v in args.size.split("x"))
    images = [np.random.default_rng(i).integers(0, 255, (h, w, 3), dtype=np.uint8) for i in range(args.frames)]
    rows = bench_detector(images, device, args.tiny, args.batch, args.repeat)
    rows += bench_segmenter(images, device, args.tiny, args.batch, args.repeat)
    rows += bench_cavmae(args.frames, device, args.tiny, args.batch, args.repeat)
    print(f"device {device}; {args.frames} frames {w}x{h}; best of {args.repeat}")
    print(f"{'backend':52s} {'batch':>5s} {'frames/s':>9s} {'vs batch 1':>10s} {'peak MB':>8s}")
    base = {}
    for r in rows:
        base.setdefault(r["backend"], r["frames_per_s"])
        r["ratio"] = r["frames_per_s"] / base[r["backend"]]
        peak = "-" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}"
        print(f"{r['backend']:52s} {r['batch']:5d} {r['frames_per_s']:9.2f} {r['ratio']:9.2f}x {peak:>8s}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"device": device, "frames": args.frames, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""AVATAR-Synth generation speed: clips per second per core for each preset, extrapolated to the whole preset.

For each preset a sample of its clips is generated in this process (one core) and timed in CPU seconds
(robust on a shared machine); the wall time of the whole preset on N cores is extrapolated from it.
Baseline, measured in the same run: the *encode-only floor*, i.e. encoding the same number of frames of a
static textured background plus the same audio with the same encoder settings, which any generator of
these files must pay. ``ratio`` = generator CPU per clip / floor CPU per clip.

    python -m benchmarks.synth_speed [--sample 8] [--cores 2] [--parallel]     (from the repository root)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from avatar_bench.synth import generate
from avatar_bench.synth.clip import scene_audio
from avatar_bench.synth.config import plan_clips, resolve_config
from avatar_bench.synth.encode import write_mp4
from avatar_bench.synth.render import background
from avatar_bench.synth.scene import build_scene


def sample_overrides(preset: str, n: int) -> dict[str, int]:
    """Counts that make the first ``n`` good clips of ``preset`` plus one bad clip per 10 (at least 1)."""
    n_bad = max(1, n // 10)
    return {"n_train": n - n_bad, "n_val": 0, "n_test": 0, "n_bad": n_bad}


def time_generator(preset: str, n: int, workers: int) -> tuple[float, float, float]:
    """(CPU s per clip, wall s per clip, MB per clip) of generating ``n`` clips of ``preset``."""
    overrides = {} if preset == "tiny" else sample_overrides(preset, n)
    with tempfile.TemporaryDirectory() as tmp:
        cpu, wall = time.process_time(), time.perf_counter()
        summary = generate(Path(tmp) / preset, preset=preset, seed=0, workers=workers, progress=False, **overrides)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 1e6
    clips = summary["videos"]
    return cpu / clips, wall / clips, size / clips


def time_floor(preset: str, n: int) -> float:
    """CPU s per clip of encoding a static background and the same audio (no rendering, no annotation)."""
    cfg = resolve_config(preset)
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(n):
            scene = build_scene(seed=0, index=k, kind="single", split="train", defect=None, width=cfg.width,
                                height=cfg.height, fps=cfg.fps, duration_s=cfg.duration_s)
            bg, audio = background(scene), scene_audio(scene)
            cpu = time.process_time()
            write_mp4(Path(tmp) / f"{k}.mp4", (bg for _ in range(scene.n_frames)), width=scene.width,
                      height=scene.height, fps=scene.fps, audio=audio, sample_rate=scene.sample_rate,
                      x264_preset=cfg.x264_preset, crf=cfg.crf)
            total += time.process_time() - cpu
    return total / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=8, help="clips generated per preset (tiny: all 15)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="cores for the extrapolation")
    parser.add_argument("--parallel", action="store_true", help="also time tiny with --cores workers (wall)")
    args = parser.parse_args()
    floor = time_floor("tiny", 3)
    print(f"encode-only floor: {floor:.3f} CPU s per clip (640x360, 10 s, 25 fps, same x264/AAC settings)\n")
    head = (f"{'preset':<7}{'clips':>7}{'sampled':>9}{'CPU s/clip':>12}{'clips/s/core':>14}{'ratio':>8}"
            f"{'MB/clip':>9}{'est. wall on ' + str(args.cores) + ' cores':>24}{'est. size':>11}")
    print(head)
    print("-" * len(head))
    for preset in ("tiny", "small", "full"):
        total = len(plan_clips(resolve_config(preset)))
        n = total if preset == "tiny" else args.sample
        cpu, _, mb = time_generator(preset, n, workers=1)
        est = total * cpu / args.cores
        print(f"{preset:<7}{total:>7}{min(n, total):>9}{cpu:>12.3f}{1 / cpu:>14.2f}{cpu / floor:>8.2f}{mb:>9.2f}"
              f"{est / 60:>20.1f} min{total * mb / 1000:>9.2f} GB")
    if args.parallel:
        cpu, wall, _ = time_generator("tiny", 15, workers=args.cores)
        print(f"\ntiny with {args.cores} workers: {wall:.2f} wall s per clip, {1 / wall:.2f} clips/s "
              "(parent CPU excludes the workers)")


if __name__ == "__main__":
    main()

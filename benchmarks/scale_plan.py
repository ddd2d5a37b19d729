"""The 70k-video plan, measured at small scale: CPU cost per video of each stage on this machine, then the
projected wall time of the paper's batch (70,000 candidates, ~39,000 kept, ~195,000 frames) on N workers.

Measured here, in this process, one OpenCV thread (CPU seconds, best of ``--repeats``; a worker per core pays
CPU time, which other jobs on a shared machine do not inflate):

- the cut of a download (ffmpeg: 10 s re-encoded to H.264 crf 18 ``veryfast`` + AAC, from the real 1280x720
  clip of ``../shared/media``: VGGSound clips are fetched at <= 720p); the network part of a download cannot be
  measured offline;
- probe, audio activity, frame choice, per 10 s clip: generated 640x360 and 1280x720 clips and the real
  640x360 clips of ``../shared/media``;
- propose per frame: no-weights, and the CPU demo (YOLOv8n int8 ONNX + YAMNet, ``../shared/models``), models
  already loaded.

Estimates (printed as such, inputs are flags): the network time per download, and propose per frame with the
paper's full-size models on one GPU (not measured yet: ``scripts/gpu_proposals_check.sh`` measures it).

    python -m benchmarks.scale_plan [--repeats 3] [--workers 1 16 64] [--gpu-frame-s 0.2] [--download-s 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import cv2

from benchmarks.pipeline_cpu import pipeline
from pipeline.dummies import write_clip
from pipeline.frames import FrameConfig

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AVATAR_SHARED", REPO.parent / "shared"))
PAPER = {"videos": 70_000, "kept": 39_000, "frames": 195_000}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cut_cost(src: Path, tmp: Path, repeats: int, preset: str = "veryfast") -> tuple[float, int]:
    """CPU seconds of ffmpeg cutting 10 s out of ``src`` with the download settings (a child process), and the
    size of the clip it writes."""
    from pipeline.sources.vggsound import DownloadConfig, _cut

    best, out = float("inf"), tmp / f"cut-{preset}.mp4"
    for _ in range(repeats):
        before = _children_cpu()
        _cut(src, out, 1.0, DownloadConfig(preset=preset), "bench")
        best = min(best, _children_cpu() - before)
    return best, out.stat().st_size


def stage_costs(paths: list[Path], tmp: Path, repeats: int) -> dict[str, dict[str, float]]:
    """``{clip: {probe, activity, frames}}`` CPU seconds per clip (best of ``repeats``)."""
    out = {}
    for path in paths:
        pipeline(path, tmp / "warm", FrameConfig())  # imports, first calls, page cache
        parts: dict[str, list[float]] = {}
        for _ in range(repeats):
            pipeline(path, tmp / "out", FrameConfig(), parts)
        out[path.name] = {k: min(v) for k, v in parts.items()}
    return out


def propose_costs(paths: list[Path], tmp: Path) -> dict[str, float]:
    """CPU seconds per frame of propose, models loaded before the clock starts."""
    from flows.params import propose_config
    from pipeline.layout import WorkDir
    from pipeline.prepare import PrepareConfig, prepare
    from pipeline.proposals.propose import Backends, read_frames, taxonomy, write_proposals

    src = tmp / "clips"
    src.mkdir()
    for p in paths:
        shutil.copy(p, src / p.name)
    out = {}
    presets = {"no-weights": "no-weights"}
    if (SHARED / "models" / "yamnet.tflite").exists():
        presets["cpu-demo (YOLOv8n int8 + YAMNet)"] = "cpu-demo"
    for name, preset in presets.items():
        work = WorkDir(tmp / f"work-{preset}")
        prepare(f"dir:{src}", work.root, PrepareConfig.from_dict({"probe": {"min_short_side": 240,
                                                                            "max_duration_s": None}}))
        frames = read_frames(work.root)
        cfg = propose_config({}, preset, str(SHARED / "models"))
        backends, tax = Backends(cfg), taxonomy(cfg)
        t = time.process_time()
        write_proposals(work, frames, cfg, backends, tax)
        out[name] = (time.process_time() - t) / max(1, len(frames))
    return out


def clips(tmp: Path) -> list[Path]:
    paths = []
    for i, (w, h) in enumerate(((640, 360), (640, 360), (1280, 720))):
        path = tmp / f"generated_{w}x{h}_{i}.mp4"
        write_clip(path, width=w, height=h, seed=i, active_s=[(0.5, 9.5)], preset="medium")
        paths.append(path)
    for name in ("airplane_flyover_then_silence.mp4", "silent_film_offscreen_piano.mp4"):
        if (SHARED / "media" / name).exists():
            paths.append(SHARED / "media" / name)
    return paths


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:8.1f} h" if seconds >= 360 else f"{seconds / 60:8.1f} m"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 16, 64, 256])
    ap.add_argument("--download-s", type=float, default=20.0, help="ESTIMATE: network seconds per video download")
    ap.add_argument("--gpu-frame-s", type=float, default=0.2, help="ESTIMATE: GPU seconds per frame, full models")
    ap.add_argument("--gpus", type=int, nargs="+", default=[1, 4, 8])
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = clips(tmp)
        real_720p = SHARED / "media" / "speech_42s_no_visible_source.mp4"  # real footage (synthetic compresses more)
        source = real_720p if real_720p.exists() else paths[2]
        (cut, size), (cut_fast, size_fast) = (cut_cost(source, tmp, args.repeats, p) for p in ("veryfast", "ultrafast"))
        costs = stage_costs(paths, tmp, args.repeats)
        per_frame = propose_costs(paths, tmp)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; CPU seconds, best of {args.repeats}\n")
    print(f"{'clip':<40} {'probe':>7} {'activity':>9} {'frames':>7} {'total':>7}")
    for name, c in costs.items():
        print(f"{name:<40} {c['probe']:>7.3f} {c['activity']:>9.3f} {c['frames']:>7.3f} {sum(c.values()):>7.3f}")
    mean = {k: sum(c[k] for c in costs.values()) / len(costs) for k in ("probe", "activity", "frames")}
    big = costs[paths[2].name]
    print(f"{'mean':<40} {mean['probe']:>7.3f} {mean['activity']:>9.3f} {mean['frames']:>7.3f} "
          f"{sum(mean.values()):>7.3f}")
    print(f"\ncut of a download (ffmpeg, 10 s of {source.name}, 1280x720, crf 18): {cut:.2f} CPU s and "
          f"{size / 1e6:.1f} MB per video with the default preset veryfast; {cut_fast:.2f} CPU s and "
          f"{size_fast / 1e6:.1f} MB with ultrafast")
    for name, s in per_frame.items():
        print(f"propose per frame, {name}: {s:.3f} CPU s")
    # CPU work of the paper's batch: cut + probe + activity on every candidate (conservative: rejections are
    # assumed to come after activity), frame choice on the kept videos, propose on their frames.
    v, k, f = PAPER["videos"], PAPER["kept"], PAPER["frames"]
    worst = {key: max(mean[key], big[key]) for key in mean}  # 720p clips cost more to decode
    prep = v * (cut + worst["probe"] + worst["activity"]) + k * worst["frames"]
    demo = per_frame.get("cpu-demo (YOLOv8n int8 + YAMNet)")
    print(f"\nthe paper's batch: {v:,} videos, {k:,} kept, {f:,} frames; CPU work (worst of mean and 720p):")
    print(f"  prepare (cut + probe + activity on all, frame choice on kept): {_hours(prep)} of CPU")
    if demo:
        print(f"  propose cpu-demo: {_hours(f * demo)} of CPU; no-weights: {_hours(f * per_frame['no-weights'])}")
    print(f"  download network time, ESTIMATE {args.download_s:.0f} s per video: {_hours(v * args.download_s)} "
          "of one connection")
    print(f"  propose with the full models on a GPU, ESTIMATE {args.gpu_frame_s} s per frame: "
          f"{_hours(f * args.gpu_frame_s)} of one GPU")
    print(f"\n{'workers':>8} {'downloads':>11} {'prepare CPU':>12} {'propose CPU demo':>17}   (one worker = one "
          "core and one download stream)")
    for n in args.workers:
        demo_s = _hours(f * demo / n) if demo else "-"
        print(f"{n:>8} {_hours(v * args.download_s / n):>11} {_hours(prep / n):>12} {demo_s:>17}")
    print(f"\n{'GPUs':>8} {'propose, full models':>21}")
    for g in args.gpus:
        print(f"{g:>8} {_hours(f * args.gpu_frame_s / g):>21}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

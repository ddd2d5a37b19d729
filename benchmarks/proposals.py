"""CPU benchmark of the proposal backends and the whole propose stage (real small models + tiny configs).

Rows: YOLOv8n int8 ONNX (real, COCO), YAMNet (real), the Kaldi fbank front end, CAV-MAE (full size and tiny,
random weights), SAM (tiny, random), and the propose stage with the CPU demo models vs the no-weights stage.
Each backend's ratio is against its own one-frame-at-a-time row, measured in the same run; the stage's ratio is
against the no-weights stage (reading frames and writing the manifest only). Needs ../shared (real media and
models); set AVATAR_SHARED to point elsewhere.

    python -m benchmarks.proposals [--frames 8] [--repeat 2]      (from the repository root: it reuses
    benchmarks.gpu_proposals and tests.proposals.frames_fixture)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.gpu_proposals import _timed

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AVATAR_SHARED", REPO.parent / "shared"))


def _row(name: str, batch: int | str, fps: float, base: float) -> dict:
    return {"backend": name, "batch": batch, "frames_per_s": fps, "ratio": fps / base}


def bench_backends(images, wave, repeat: int) -> list[dict]:
    import torch

    from pipeline.proposals.cavmae import CAVMAEFT, CavMaeConfig
    from pipeline.proposals.detector import YoloDetector
    from pipeline.proposals.fbank import fbank
    from pipeline.proposals.segmenter import SAM_VARIANTS, SamSegmenter, build_sam
    from pipeline.proposals.taggers import CavMaeTagger, make_tagger

    n, rows = len(images), []
    det = YoloDetector(str(SHARED / "models" / "yolov8n_coco80_int8.onnx"), device="cpu")
    for bs in (1, 4):
        det.batch_size = bs
        fps, _ = _timed(lambda: det.detect(images), n, "cpu", repeat)
        rows.append(_row("YOLOv8n int8 ONNX (real, COCO-80)", bs, fps, rows[0]["frames_per_s"] if rows else fps))
    yam = make_tagger("yamnet", model=str(SHARED / "models" / "yamnet.tflite"))
    centers = list(np.linspace(0.5, 4.5, n))
    fps, _ = _timed(lambda: yam.score_windows(wave, centers), n, "cpu", repeat)
    rows.append(_row("YAMNet TFLite (real), 0.975 s windows", 1, fps, fps))
    chunk = wave[:32000]
    fps, _ = _timed(lambda: [fbank(chunk) for _ in range(n)], n, "cpu", repeat)
    rows.append(_row("Kaldi fbank 128 mel, 2 s window", 1, fps, fps))
    torch.manual_seed(0)
    for label, cfg in (("CAV-MAE base (random), 2 s windows", CavMaeConfig()),
                       ("CAV-MAE tiny (random), 2 s windows",
                        CavMaeConfig(embed_dim=32, modality_specific_depth=1, total_depth=2, num_heads=2))):
        tagger = CavMaeTagger(model=CAVMAEFT(cfg), device="cpu", window_s=2.0)
        first = None
        for bs in (1, 4):
            tagger.batch_size = bs
            fps, _ = _timed(lambda t=tagger: t.score_windows(wave, centers[:4]), 4, "cpu", 1)
            first = first or fps
            rows.append(_row(label, bs, fps, first))
    seg = SamSegmenter(device="cpu", sam=build_sam(SAM_VARIANTS["tiny"]))
    boxes = [[[50, 40, 250, 300], [300, 20, 600, 350], [10, 10, 630, 350]]] * n
    first = None
    for bs in (1, 4):
        seg.batch_size = bs
        fps, _ = _timed(lambda: seg.segment(images, boxes), n, "cpu", repeat)
        first = first or fps
        rows.append(_row("SAM tiny (random), 3 boxes/frame", bs, fps, first))
    return rows


def bench_stage(frames: int) -> list[dict]:
    from pipeline.proposals.config import ProposeConfig
    from pipeline.proposals.propose import propose
    from tests.proposals.frames_fixture import write_frames_manifest

    clips = {SHARED / "media" / "three_women_one_talks.mp4": np.linspace(0.5, 5.5, frames // 2),
             SHARED / "media" / "silent_film_offscreen_piano.mp4": np.linspace(0.5, 9.0, frames - frames // 2)}
    rows = []
    for label, cfg in (("propose stage, no weights", ProposeConfig.no_weights()),
                       ("propose stage, CPU demo (YOLOv8n + YAMNet)", ProposeConfig.cpu_demo(str(SHARED / "models")))):
        with tempfile.TemporaryDirectory() as tmp:
            write_frames_manifest(Path(tmp), clips)
            start = time.perf_counter()
            stats = propose(tmp, cfg)
            fps = stats.processed / (time.perf_counter() - start)
        rows.append(_row(label + " (incl. model load)", 8, fps, rows[0]["frames_per_s"] if rows else fps))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    if not (SHARED / "models" / "yamnet.tflite").exists():
        print(f"needs the real media/models of {SHARED} (set AVATAR_SHARED)")
        return 2
    from pipeline.proposals.audio import load_audio
    from pipeline.proposals.runtime import ensure_offline_env
    from tests.proposals.frames_fixture import grab_frames

    ensure_offline_env()
    video = SHARED / "media" / "three_women_one_talks.mp4"
    images = [img for _, _, img in grab_frames(video, np.linspace(0.2, 5.5, args.frames))]
    rows = bench_backends(images, load_audio(str(video)), args.repeat) + bench_stage(args.frames)
    print(f"CPU, {os.cpu_count()} cores; {args.frames} frames 640x480 of three_women_one_talks.mp4")
    print(f"{'backend':50s} {'batch':>5s} {'frames/s':>9s} {'ratio':>7s}")
    for r in rows:
        print(f"{r['backend']:50s} {r['batch']!s:>5s} {r['frames_per_s']:9.2f} {r['ratio']:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

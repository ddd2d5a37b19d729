"""The README's main job, on built-in defaults (no downloads): AVATAR-Synth → pipeline → TAVLO vs baseline.

    python -m scripts.demo [--work work/demo] [--quick] [--shared ../shared]      (from the repository root;
    ``bash scripts/demo.sh`` installs first, then runs it)

1. Generate AVATAR-Synth ``small`` (``tiny`` with --quick): real H.264/AAC clips with exact AVATAR-COCO GT.
2. Run the annotation pipeline's first half (probe/filter, RMS activity, Laplacian frame choice) on it and
   print kept/rejected counts per reason.
3. Proposals: with the real small models of ``../shared/models`` (YOLOv8n int8 ONNX + YAMNet) on the real clips
   of ``../shared/media`` when that folder exists; else the stage runs in no-weights mode on the synthetic frames.
4. Train TAVLO and the EZ-VSL-style single-frame baseline on the synthetic train split (a few minutes each on a
   2-core CPU), score both on the test split with ``avatar_bench.evaluate`` and print the tables side by side.

Every step resumes: rerun the same command after an interruption.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", str(REPO / ".cache" / "ultralytics"))
os.environ.setdefault("MPLBACKEND", "Agg")


def banner(step: str) -> None:
    print(f"\n=== {step}", flush=True)


def synth_step(work: Path, preset: str) -> Path:
    from avatar_bench.synth import generate

    banner(f"1/4 AVATAR-Synth '{preset}' → {work / ('synth_' + preset)}")
    t0 = time.perf_counter()
    out = work / f"synth_{preset}"
    summary = generate(out, preset=preset, seed=0)
    print(f"{summary['videos']} clips ({summary['good_videos']} annotated, {sum(summary['bad_videos'].values())} "
          f"for the filter to reject), {summary['images']} annotated frames in {time.perf_counter() - t0:.0f} s")
    return out


def prepare_step(source: str, work: Path, title: str) -> dict:
    from pipeline.prepare import prepare

    banner(title)
    stats = prepare(source, work, progress=True)
    print(stats.text())
    return stats


def propose_step(work: Path, shared: Path | None) -> None:
    from pipeline.proposals.config import ProposeConfig
    from pipeline.proposals.propose import propose

    models = shared / "models" if shared else None
    if models and (models / "yolov8n_coco80_int8.onnx").exists():
        cfg, what = ProposeConfig.cpu_demo(str(models)), "real YOLOv8n (ONNX) + YAMNet"
    else:
        cfg, what = ProposeConfig.no_weights(), "no-weights mode (../shared/models not found)"
    print(f"proposals with {what}")
    stats = propose(work, cfg)
    print(stats.text())
    from pipeline.layout import WorkDir

    for p in WorkDir(work).records("proposals")[:12]:
        tags = ", ".join(f"{t.label} {t.score:.2f}" for t in p.audio_tags[:2])
        seen = sorted({i.detector_label for i in p.instances})
        flag = " (flagged for review)" if p.flagged else ""
        print(f"  {p.frame_id:<40} heard [{tags}] seen {seen} → {p.scenario or 'none proposed'}{flag}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "work" / "demo")
    parser.add_argument("--quick", action="store_true", help="tiny synthetic set and a short training (a smoke run)")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared", help="real media/models, if present")
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    shared = args.shared if (args.shared / "media").is_dir() else None

    synth = synth_step(args.work, "tiny" if args.quick else "small")
    prepare_step(f"synth:{synth}", args.work / "pipeline_synth",
                 "2/4 pipeline part 1 on AVATAR-Synth (probe/filter, RMS activity, Laplacian frames)")
    if shared:
        prepare_step(f"dir:{shared / 'media'}", args.work / "pipeline_real", "3/4 pipeline on the real clips of "
                     f"{shared / 'media'}, then proposals")
        propose_step(args.work / "pipeline_real", shared)
    else:
        banner("3/4 proposals on the synthetic frames")
        propose_step(args.work / "pipeline_synth", None)
    if args.skip_train:
        return 0
    banner("4/4 TAVLO vs the EZ-VSL-style single-frame baseline (CPU)")
    cmd = [sys.executable, "-m", "scripts.compare_tavlo_baseline", "--data", str(synth.resolve()),
           "--out", str((args.work / "compare").resolve())]
    if args.quick:
        cmd.append("--quick")
    return subprocess.run(cmd, check=False, cwd=REPO).returncode


if __name__ == "__main__":
    sys.exit(main())

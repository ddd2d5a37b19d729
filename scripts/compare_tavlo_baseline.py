"""Train TAVLO and the EZ-VSL-style single-frame baseline on the same AVATAR-Synth set; print both tables.

    python scripts/compare_tavlo_baseline.py --data data/synth_small --out runs/compare [--generate]

Both models use the same data, seed, trainer and heatmap calibration (``tavlo_model/configs/synth_small_*.yaml``:
sized for a few minutes each on a 2-core CPU). Each is trained, its best checkpoint (validation total CIoU) writes
an ``avatar-eval`` submission for the test split, and ``avatar_bench.evaluate`` scores it; the per-scenario
tables are printed side by side with the training times and saved to ``OUT/comparison.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from avatar_bench.format import AvatarDataset  # noqa: E402
from tavlo_model.config import load_config  # noqa: E402
from tavlo_model.errors import TavloError  # noqa: E402
from tavlo_model.infer import predict, write  # noqa: E402
from tavlo_model.train import train  # noqa: E402

MODELS = {"TAVLO (T=4)": "synth_small_tavlo.yaml", "EZ-VSL-style (T=1)": "synth_small_ezvsl.yaml"}
QUICK = ["--max_steps=4", "--batch_size=4", "--epochs=4"]  # tiny preset: 4 training clips
ROWS = [("single", "CIoU", "single_ciou"), ("", "AUC", "single_auc"), ("mixed", "CIoU", "mixed_ciou"),
        ("multi-entity", "CIoU", "multi_entity_ciou"), ("off-screen", "TN", "off_screen_tn"),
        ("", "AUROC", "offscreen_auroc"), ("total", "CIoU", "total_ciou"), ("cross-event", "CIoU", "cross_event_ciou"),
        ("", "delta", "cross_event_delta")]


def run_model(config: Path, data: Path, out: Path, seed: int, overrides: list[str]) -> dict:
    """Train one model, write its test submission and score it; return training summary and test metrics."""
    from avatar_bench.evaluate import evaluate

    cfg = load_config(config, [f"--data.root={data}", f"--out_dir={out}", f"--seed={seed}",
                               f"--data.cache_dir={out.parent / 'cache'}", *overrides])
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


def format_side_by_side(results: dict[str, dict], title: str) -> str:
    """The per-scenario rows of every model in one table (percent; NaN shown as '-')."""
    names = list(results)
    lines = [f"{title:<30}" + "".join(f"{n:>22}" for n in names)]
    for group, metric, key in ROWS:
        cells = []
        for n in names:
            v = results[n]["test"].get(key, math.nan)
            cells.append(f"{'-' if math.isnan(v) else f'{v:.2f}':>22}")
        lines.append(f"{group:<14}{metric:<16}" + "".join(cells))
    lines.append(f"{'training':<14}{'minutes':<16}" + "".join(f"{r['train_seconds'] / 60:>22.1f}"
                                                           for r in results.values()))
    lines.append(f"{'':<14}{'steps':<16}" + "".join(f"{r['steps']:>22d}" for r in results.values()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="AVATAR-Synth folder (generated with --generate when absent)")
    p.add_argument("--out", default="runs/compare")
    p.add_argument("--generate", action="store_true", help="generate the 'small' preset into --data first")
    p.add_argument("--seed", type=int, default=0)
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
    try:
        results = {name: run_model(Path(a.configs) / cfg, data, out / Path(cfg).stem, a.seed, overrides)
                   for name, cfg in MODELS.items()}
    except TavloError as exc:
        print(f"compare: error: {exc}", file=sys.stderr)
        return 2
    n = int(next(iter(results.values()))["test"].get("n_frames", 0))
    table = format_side_by_side(results, f"{data.name} test ({n} frames)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    (out / "comparison.txt").write_text(table + "\n", encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

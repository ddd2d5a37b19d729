"""Why does TAVLO use so little of the temporal cue? One small experiment per candidate cause, each able to fail.

    python scripts/temporal_experiments.py --out runs/temporal [--steps 300] [--only NAME ...]

Every experiment trains the same tiny model from scratch on the two-sprite synchrony clips of
``tavlo_model.synchrony`` (two identical sprites, one pulsing with the clicks) and reports the identity it reaches
(share of clips whose anchor-frame heatmap is higher on the sounding sprite; chance 0.5) next to the temporal
oracle of its view, the loss, and the gradient norm of every block. A finished experiment is reused on a rerun
(``OUT/<name>.json``); the table goes to ``OUT/table.txt``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from avatar_bench.io import atomic_write_json, atomic_write_text

# The tiny model: 32 px, a patch trunk (4 x 4 grid), one AST block, radius 0, max-pooled negatives.
TINY = dict(img_size=32, visual_width=8, visual_stages=2, visual_patch=16, audio_channels=(8, 16, 32), n_mels=32,
            feat_dim=32, time_dim=16, depth=1, num_heads=4, embed_dim=32, spatial_radius=0, negatives="max")
# name: (question, model overrides, train_synchrony options)
EXPERIMENTS = {
    "separate": ("audio never reaches a location (dual encoder, the old CPU default)",
                 {"spatial_attention": "separate"}, {}),
    "audio_to_visual": ("each location reads its frame's audio token before temporal attention",
                        {"spatial_attention": "audio_to_visual"}, {}),
    "joint": ("the paper's joint spatial attention (radius 0: a location reads the audio token; it reads all)",
              {"spatial_attention": "joint"}, {}),
    "clip_bag": ("positives pooled over the clip's T*H*W locations (hides which frame matched)",
                 {"spatial_attention": "audio_to_visual"}, {"bag": "clip"}),
    "mean_negatives": ("mean-pooled negatives (the paper's) instead of max",
                       {"spatial_attention": "audio_to_visual", "negatives": "mean"}, {}),
    "category_shortcut": ("colour/pitch categories let other clips be told apart without timing",
                          {"spatial_attention": "audio_to_visual"}, {"categories": 16}),
    "category_same_video": ("... with two windows of each 'video' per batch (negatives only timing separates)",
                            {"spatial_attention": "audio_to_visual"}, {"categories": 16, "same_video": 2}),
}


def run(name: str, steps: int, out: Path) -> dict:
    """Run experiment ``name`` (or reuse its saved result)."""
    from tavlo_model.config import model_config
    from tavlo_model.synchrony import train_synchrony

    path = out / f"{name}.json"
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("steps") == steps:
            return saved
    question, model, options = EXPERIMENTS[name]
    result = train_synchrony(model_config("tavlo_r18_t4", **{**TINY, **model}), steps=steps, **options)
    result.update(name=name, question=question)
    atomic_write_json(path, result, indent=2)
    return result


def table(results: list[dict]) -> str:
    lines = [f"{'experiment':<22}{'identity':>9}{'oracle':>8}{'1-frame':>8}{'loss first->last':>18}"
             f"{'|g| spatial':>12}{'|g| temporal':>13}{'minutes':>8}"]
    for r in results:
        g = r["grad_norms"]
        lines.append(f"{r['name']:<22}{r['identity']:>9.3f}{r['oracle']:>8.3f}{r['single_frame_rule']:>8.3f}"
                     f"{r['loss_first']:>9.2f} ->{r['loss_last']:>6.2f}{g.get('blocks.0.spatial', 0):>12.3f}"
                     f"{g.get('blocks.0.temporal', 0):>13.3f}{r['seconds'] / 60:>8.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="runs/temporal", help="folder of the results")
    p.add_argument("--steps", type=int, default=300, help="training steps per experiment (batch 16)")
    p.add_argument("--only", nargs="+", choices=sorted(EXPERIMENTS), help="run these experiments only")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    import torch

    torch.set_num_threads(1)
    results = [run(name, a.steps, out) for name in (a.only or EXPERIMENTS)]
    text = table(results)
    atomic_write_text(out / "table.txt", text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The exact AVATAR-Synth ground truth at ANY frame of a generated clip (the pipeline picks its own frames).

A clip depends only on ``(seed, index)`` and the settings recorded in ``synth.json``, so its scene can be
rebuilt and the frame re-rendered: the instance-id buffer gives the masks, ``frame_truth`` the scenario.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from avatar_bench import rle


@functools.cache
def _renderer(synth_dir: str, name: str):
    from avatar_bench.synth.config import SynthConfig, plan_clips
    from avatar_bench.synth.render import Renderer
    from avatar_bench.synth.scene import build_scene, video_name

    stamp = json.loads((Path(synth_dir) / "synth.json").read_text())
    cfg = SynthConfig(**stamp["config"])
    plan = next(p for p in plan_clips(cfg) if video_name(p.index) == name)
    scene = build_scene(seed=stamp["seed"], index=plan.index, kind=plan.kind, split=plan.split, defect=plan.defect,
                        width=cfg.width, height=cfg.height, fps=cfg.fps, duration_s=cfg.duration_s)
    return scene, Renderer(scene)


def truth(synth_dir: Path, name: str, frame_index: int) -> dict[str, Any] | None:
    """``{"scenario", "sounding_categories", "instances": [{"category", "sounding", "segmentation"}]}`` or None
    when the frame fits no scenario cleanly (the generator would not annotate it)."""
    from avatar_bench.synth.annotate import frame_truth

    scene, renderer = _renderer(str(synth_dir), name)
    _, ids = renderer.render(frame_index)
    return frame_truth(scene, frame_index, ids)


def heatmap(record: dict[str, Any] | None, height: int, width: int) -> np.ndarray:
    """The truth as a submission heatmap: 1 on the union of the sounding masks, 0 elsewhere."""
    out = np.zeros((height, width), np.float32)
    for inst in (record or {}).get("instances", []):
        if inst["sounding"]:
            out[rle.decode(inst["segmentation"])] = 1.0
    return out

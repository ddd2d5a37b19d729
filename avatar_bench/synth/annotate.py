"""Ground truth of a clip: which frames to annotate, and the exact truth at each of them.

Frames are chosen like the AVATAR protocol does (inside audio-active stretches, sharp, spread over time)
but from the known truth: a margin around every change of who is heard, no blurred frame nearby, and the
sounding instance well visible. The scenario of each frame is then *derived* from the truth at that frame
(visible masks + who sounds), never copied from the plan, so it obeys the definitions of DESIGN §1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from avatar_bench import rle
from avatar_bench.rules import scenario_of
from avatar_bench.synth.scene import Scene

EDGE_MARGIN_S = 0.25  # stay this far from the start/end of any audible stretch
BLUR_MARGIN = 2  # frames kept away from a blurred frame
MIN_SOUNDING_VISIBLE = 0.5  # visible share of a sounding instance's sprite
MIN_TWIN_VISIBLE = 0.5  # ... and of at least one look-alike (equal, so size alone does not tell them apart)


def in_any(t: float, intervals: list[list[float]], margin: float = 0.0) -> bool:
    """True when ``t`` lies inside one of ``intervals`` shrunk by ``margin`` (grown when negative)."""
    return any(s + margin <= t <= e - margin for s, e in intervals)


def _frame_ok(scene: Scene, seg: dict[str, Any], i: int, vis: np.ndarray, col: dict[int, int]) -> bool:
    t = i / scene.fps
    for src in scene.sources:
        heard = src.track_id in seg["track_ids"]
        if heard and not in_any(t, src.intervals, EDGE_MARGIN_S):
            return False
        if not heard and in_any(t, src.intervals, -EDGE_MARGIN_S):
            return False
        if heard and src.on_screen and vis[i, col[src.track_id]] < MIN_SOUNDING_VISIBLE:
            return False
    if seg["scenario"] == "multi_entity":
        twins = [tid for tid in seg["track_ids"] if tid not in {s.track_id for s in scene.sources}]
        if not any(vis[i, col[tid]] >= MIN_TWIN_VISIBLE for tid in twins):
            return False
    return True


def choose_frames(scene: Scene, vis: np.ndarray, n_target: int) -> list[int]:
    """Pick up to ``n_target`` frames, spread over the audible segments and over time inside each.

    Args:
        scene: the clip.
        vis: ``(n_frames, n_instances)`` visible share of each instance (columns in ``scene.instances`` order).
        n_target: how many frames to annotate.
    """
    col = {inst.track_id: k for k, inst in enumerate(scene.instances)}
    blurred = np.zeros(scene.n_frames + 2 * BLUR_MARGIN, dtype=bool)
    for b in scene.blurred:
        blurred[b:b + 2 * BLUR_MARGIN + 1] = True  # shifted by BLUR_MARGIN
    per_seg = []
    for seg in scene.segments:
        lo, hi = int(np.ceil(seg["start_s"] * scene.fps)), int(seg["end_s"] * scene.fps) + 1
        per_seg.append([i for i in range(max(lo, 0), min(hi, scene.n_frames))
                        if not blurred[i + BLUR_MARGIN] and _frame_ok(scene, seg, i, vis, col)])
    usable = [c for c in per_seg if c]
    if not usable:
        return []
    quota = [0] * len(usable)
    while sum(quota) < n_target:  # round robin: each audible segment gets its share of the frames
        open_ = [k for k in range(len(usable)) if quota[k] < len(usable[k])]
        if not open_:
            break
        for k in open_[: n_target - sum(quota)]:
            quota[k] += 1
    chosen = []
    for cands, q in zip(usable, quota, strict=True):
        chosen += [cands[int((j + 0.5) * len(cands) / q)] for j in range(q)]
    return sorted(set(chosen))


def classify(present: list[tuple[int, str, bool]], heard: set[str]) -> str | None:
    """The scenario of a frame from its visible instances ``(track_id, category, sounding)`` and the heard
    categories; None when the frame fits no scenario cleanly (it is then not annotated)."""
    cats = {cat for _, cat, s in present if s}
    if cats and heard - cats:  # a source heard off screen at the same time as a visible one: ambiguous
        return None
    return scenario_of([(cat, s) for _, cat, s in present], heard)  # THE rule (avatar_bench.rules)


def frame_truth(scene: Scene, i: int, ids: np.ndarray) -> dict[str, Any] | None:
    """The annotation record of frame ``i`` from its instance-id buffer (None if it fits no scenario)."""
    t = i / scene.fps
    audio_on = scene.channels > 0 and scene.defect != "silent_audio"
    loud = {s.track_id for s in scene.sources if audio_on and in_any(t, s.intervals)}
    heard = {s.category for s in scene.sources if s.track_id in loud}
    instances, present = [], []
    for inst in sorted(scene.instances, key=lambda x: x.track_id):
        mask = ids == inst.track_id
        if not mask.any():
            continue
        seg = rle.encode(mask)
        sounding = inst.track_id in loud
        present.append((inst.track_id, inst.category, sounding))
        instances.append({"track_id": inst.track_id, "category": inst.category, "sounding": sounding,
                          "segmentation": seg, "bbox": rle.bbox(seg), "area": rle.area(seg)})
    scenario = classify(present, heard)
    if scenario is None:
        return None
    return {"frame_index": i, "timestamp_s": round(t, 6), "scenario": scenario,
            "sounding_categories": sorted(heard), "instances": instances}

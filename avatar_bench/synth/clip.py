"""Make one clip: render and encode the video, write the annotated frames, then its meta file (last).

The meta file is the clip's completion marker: it is written atomically after the video and the frames,
so a clip whose meta exists is complete, and a rerun keeps it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from avatar_bench.io import atomic_write_bytes, atomic_write_json
from avatar_bench.naming import clip_file_name, frame_file_name
from avatar_bench.synth.annotate import choose_frames, frame_truth
from avatar_bench.synth.audio import mix, render_source
from avatar_bench.synth.encode import write_mp4
from avatar_bench.synth.render import Renderer
from avatar_bench.synth.scene import Scene
from avatar_bench.synth.yuv import yuv420_to_rgb

GENERATOR_VERSION = 3  # bump when the same seed and settings give other bytes
JPEG_QUALITY = 92


def scene_audio(scene: Scene) -> np.ndarray | None:
    """The clip's soundtrack ``(channels, n)`` float32, or None when the clip has no audio stream."""
    if scene.channels == 0:
        return None
    n = int(round(scene.duration_s * scene.sample_rate))
    if scene.defect == "silent_audio":
        return np.zeros((scene.channels, n), dtype=np.float32)
    rng = np.random.default_rng(scene.audio_seed)
    tracks = [(render_source(s.category, s.events, s.pitch, n, scene.sample_rate, rng), s.pan)
              for s in scene.sources]
    return mix(tracks, n, scene.channels, scene.noise_rms, rng)


def merge(intervals: list[list[float]]) -> list[list[float]]:
    """Union of intervals, sorted."""
    out: list[list[float]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def make_clip(out_dir: Path, scene: Scene, *, frames_per_video: int, x264_preset: str, crf: int,
              config: dict[str, Any]) -> dict[str, Any]:
    """Write ``videos/<name>.mp4``, ``frames/<name>/*.jpg`` and, last, ``meta/<name>.json``; return the meta."""
    renderer = Renderer(scene)
    vis = np.zeros((scene.n_frames, len(scene.instances)), dtype=np.float32)
    col = {inst.track_id: k for k, inst in enumerate(scene.instances)}

    def frames():
        for i in range(scene.n_frames):
            buf, _ = renderer.render(i)
            for tid, frac in renderer.visible_fraction().items():
                vis[i, col[tid]] = frac
            yield buf

    write_mp4(out_dir / "videos" / clip_file_name(scene.name), frames(), width=scene.width, height=scene.height,
              fps=scene.fps, audio=scene_audio(scene), sample_rate=scene.sample_rate, x264_preset=x264_preset,
              crf=crf)
    annotated = [] if scene.defect else _annotate(out_dir, scene, renderer, vis, frames_per_video)
    meta = clip_meta(scene, annotated, config)
    atomic_write_json(out_dir / "meta" / f"{scene.name}.json", meta)
    return meta


def _annotate(out_dir: Path, scene: Scene, renderer: Renderer, vis: np.ndarray, n: int) -> list[dict[str, Any]]:
    """Re-render the chosen frames (deterministic), write their JPEGs and return their truth records."""
    from PIL import Image as PILImage

    records = []
    for i in choose_frames(scene, vis, n):
        buf, ids = renderer.render(i)
        record = frame_truth(scene, i, ids)
        if record is None:
            continue
        data = io.BytesIO()
        PILImage.fromarray(yuv420_to_rgb(buf)).save(data, format="JPEG", quality=JPEG_QUALITY)
        atomic_write_bytes(out_dir / "frames" / frame_file_name(scene.name, i), data.getvalue())
        records.append(record)
    return records


def clip_meta(scene: Scene, annotated: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    """The per-video truth file (the AVATAR-Synth layout, plus generator fields)."""
    audible = scene.channels > 0 and scene.defect != "silent_audio"
    visible = {inst.track_id: inst for inst in scene.instances}
    loud = {s.track_id: s for s in scene.sources}
    instances = []
    for tid in sorted(set(visible) | set(loud)):
        src = loud.get(tid)
        cat = src.category if src else visible[tid].category
        instances.append({"track_id": tid, "category": cat, "on_screen": tid in visible,
                          "sounding_intervals_s": (src.intervals if src and audible else []),
                          "events_s": ([[e[0], e[1]] for e in src.events] if src and audible else [])})
    active = merge([list(iv) for s in scene.sources for iv in s.intervals]) if audible else []
    vid, start = scene.name.rsplit("_", 1)
    return {
        "name": scene.name, "id": vid, "start_s": int(start), "split": scene.split, "label": scene.label,
        "fps": scene.fps, "duration_s": scene.duration_s, "width": scene.width, "height": scene.height,
        "audio": {"sample_rate": scene.sample_rate if scene.channels else None, "channels": scene.channels},
        "scenario_plan": {"kind": scene.kind, "segments": scene.segments},
        "active_segments_s": [[round(s, 4), round(e, 4)] for s, e in active],
        "blurred_frames": sorted(scene.blurred),
        "blur": {str(k): list(v) for k, v in sorted(scene.blurred.items())},
        "expected_rejection": scene.defect,
        "instances": instances,
        "annotated_frames": annotated,
        "synth": {"seed": scene.seed, "index": scene.index, "kind": scene.kind, "version": GENERATOR_VERSION,
                  "config_width": config["width"], "config_height": config["height"],
                  "config_fps": config["fps"], "config_duration_s": config["duration_s"]},
    }

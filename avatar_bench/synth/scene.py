"""The plan of one synthetic video: who is in it, how each instance moves and pulses, who sounds when.

A :class:`Scene` is a pure function of ``(seed, index)`` and the clip settings (:func:`build_scene`), so
the same scene can be rebuilt from a video's meta file (:func:`scene_from_meta`) to re-render any frame
and its instance masks exactly (used by the tests and the temporal-cue check).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avatar_bench.naming import clip_name
from avatar_bench.synth.audio import PITCH_HZ, Event, event_length
from avatar_bench.synth.casting import Cast, cast_video
from avatar_bench.synth.categories import BY_NAME, CategorySpec

KINDS = ("single", "mixed", "multi_entity", "off_screen", "cross_event")
DEFECTS = ("too_small", "too_short", "no_audio", "low_fps", "silent_audio")
AUDIO_FORMATS = ((16000, 1), (16000, 2), (44100, 1), (44100, 2))
AUDIO_FORMAT_P = (0.6, 0.1, 0.15, 0.15)


@dataclass(slots=True)
class Instance:
    """A visible object: its look, path and visual events (pulses); it sounds only inside its source's intervals."""

    track_id: int
    category: str
    size: int  # sprite side in pixels at rest (even)
    path: dict[str, float]
    events: list[Event]
    z: int  # drawing order: larger is in front


@dataclass(slots=True)
class Source:
    """A sound source: a visible instance (``track_id``) or an off-screen one (``on_screen`` False)."""

    track_id: int
    category: str
    on_screen: bool
    pitch: float
    pan: float
    events: list[Event]  # audible events
    intervals: list[list[float]]  # [[start_s, end_s], ...] when it is heard


@dataclass(slots=True)
class Scene:
    """Everything needed to render and annotate one clip."""

    name: str
    index: int
    seed: int
    kind: str
    split: str
    defect: str | None
    width: int
    height: int
    fps: float
    duration_s: float
    sample_rate: int
    channels: int  # 0: no audio stream
    label: str
    instances: list[Instance]
    sources: list[Source]
    segments: list[dict[str, Any]]
    blurred: dict[int, tuple[str, int]] = field(default_factory=dict)  # frame -> (kind, size px)
    bg_seed: int = 0
    audio_seed: int = 0
    noise_rms: float = 0.004

    @property
    def n_frames(self) -> int:
        return int(round(self.duration_s * self.fps))


def video_name(index: int) -> str:
    """``"sy" + 9 digits`` (an 11-character YouTube-like id) and a VGGSound-like start second."""
    start = 10 * ((index * 7919) % 30)
    return clip_name(f"sy{index:09d}", start)


def schedule(spec: CategorySpec, rng: np.random.Generator, t0: float, t1: float, at_start: bool) -> list[Event]:
    """Events of ``spec``'s rhythm inside [t0, t1]: durations and gaps drawn from the category's ranges."""
    t = t0 if at_start else t0 + rng.uniform(0.0, spec.gap_s[1])
    out: list[Event] = []
    while True:
        dur = float(rng.uniform(*spec.dur_s))
        if t + dur > t1:
            return out
        out.append((round(float(t), 4), round(dur, 4), round(float(rng.uniform(0.7, 1.0)), 3)))
        t += dur + float(rng.uniform(*spec.gap_s))


def plan_intervals(rng: np.random.Generator, duration: float, n: int) -> list[list[float]]:
    """``n`` audible stretches separated by silences of 0.8-1.5 s (scaled to the clip length)."""
    u = duration / 10.0
    lead, tail = rng.uniform(0.2, 1.0) * u, rng.uniform(0.2, 0.6) * u
    gaps = rng.uniform(0.8, 1.5, size=n - 1) * u
    room = duration - lead - tail - gaps.sum()
    weights = rng.uniform(0.7, 1.3, size=n)
    lengths = room * weights / weights.sum()
    out, t = [], lead
    for i in range(n):
        out.append([round(float(t), 3), round(float(t + lengths[i]), 3)])
        t += lengths[i] + (gaps[i] if i < n - 1 else 0.0)
    return out


def _path(rng: np.random.Generator, w: int, h: int, size: int, crossing: bool, duration: float) -> dict[str, float]:
    """A trajectory: ``wander`` (slow Lissajous inside the frame) or ``cross`` (enter, cross, leave)."""
    if crossing:
        speed = rng.uniform(0.12, 0.25) * w * (1 if rng.random() < 0.5 else -1)
        t_mid = rng.uniform(0.25, 0.75) * duration
        return {"type": 1.0, "x0": w / 2 - speed * t_mid, "vx": speed, "y0": rng.uniform(0.3, 0.7) * h,
                "ay": rng.uniform(0.02, 0.08) * h, "fy": rng.uniform(0.1, 0.3), "py": rng.uniform(0, 2 * np.pi)}
    return {"type": 0.0, "x0": rng.uniform(0.2, 0.8) * w, "ax": rng.uniform(0.05, 0.25) * w,
            "fx": rng.uniform(0.04, 0.15), "px": rng.uniform(0, 2 * np.pi),
            "y0": rng.uniform(0.3, 0.7) * h, "ay": rng.uniform(0.03, 0.2) * h,
            "fy": rng.uniform(0.04, 0.15), "py": rng.uniform(0, 2 * np.pi)}


def centers(path: dict[str, float], t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre ``(x, y)`` in pixels of an instance at times ``t``."""
    y = path["y0"] + path["ay"] * np.sin(2 * np.pi * path["fy"] * t + path["py"])
    if path["type"] == 1.0:
        return path["x0"] + path["vx"] * t, y
    return path["x0"] + path["ax"] * np.sin(2 * np.pi * path["fx"] * t + path["px"]), y


def _visual_events(spec: CategorySpec, rng: np.random.Generator, duration: float,
                   audible: list[list[float]]) -> tuple[list[Event], list[Event]]:
    """All pulses of an instance and the audible ones: the rhythm restarts at each audible stretch."""
    events, heard, t = [], [], 0.0
    for s, e in audible:
        events += schedule(spec, rng, t, s - 0.15, at_start=False)
        inside = schedule(spec, rng, s, e, at_start=True)
        events += inside
        heard += inside
        t = max(e, inside[-1][0] + event_length(spec.name, inside[-1][1]) if inside else e)
    events += schedule(spec, rng, t, duration, at_start=False)
    return events, heard


def _blur(rng: np.random.Generator, n_frames: int, w: int) -> dict[int, tuple[str, int]]:
    """1-3 bursts of 3-6 consecutive blurred frames (camera shake or defocus)."""
    out: dict[int, tuple[str, int]] = {}
    for _ in range(int(rng.integers(1, 4))):
        length = int(rng.integers(3, 7))
        start = int(rng.integers(0, max(1, n_frames - length)))
        kind = "motion" if rng.random() < 0.5 else "defocus"
        size = int(rng.uniform(0.03, 0.05) * w) if kind == "motion" else int(rng.uniform(0.012, 0.02) * w)
        for i in range(start, min(n_frames, start + length)):
            out[i] = (kind, max(3, size | 1))
    return out


def build_scene(*, seed: int, index: int, kind: str, split: str, defect: str | None, width: int, height: int,
                fps: float, duration_s: float) -> Scene:
    """Plan the clip ``index`` of a dataset made with ``seed`` (deterministic for these arguments)."""
    scene_ss, audio_ss, bg_ss = np.random.SeedSequence([seed, index]).spawn(3)
    rng = np.random.default_rng(scene_ss)
    sr, ch = AUDIO_FORMATS[int(rng.choice(len(AUDIO_FORMATS), p=AUDIO_FORMAT_P))]
    if defect == "too_small":
        width, height = max(2, (width // 2) & ~1), max(2, (height // 2) & ~1)
    elif defect == "too_short":
        duration_s = 3.0
    elif defect == "low_fps":
        fps = 10.0
    elif defect == "no_audio":
        ch = 0
    cast: Cast = cast_video(rng, kind, duration_s, plan_intervals)
    instances, sources = _realise(rng, cast, width, height, duration_s)
    main = BY_NAME[sources[0].category]
    scene = Scene(name=video_name(index), index=index, seed=seed, kind=kind, split=split, defect=defect,
                  width=width, height=height, fps=fps, duration_s=duration_s, sample_rate=sr, channels=ch,
                  label=str(rng.choice(main.audio_labels)), instances=instances, sources=sources,
                  segments=cast.segments, blurred={}, bg_seed=int(bg_ss.generate_state(1)[0]))
    scene.blurred = _blur(rng, scene.n_frames, width)
    scene.noise_rms = 0.0 if defect == "silent_audio" else float(rng.uniform(0.0008, 0.002))
    scene.audio_seed = int(audio_ss.generate_state(1)[0])
    return scene


def _realise(rng: np.random.Generator, cast: Cast, w: int, h: int,
             duration: float) -> tuple[list[Instance], list[Source]]:
    """Turn a cast (roles and stretches) into instances with paths and events, and sources."""
    instances: list[Instance] = []
    sources: list[Source] = []
    sizes: dict[tuple[str, int], int] = {}
    z_order = rng.permutation(len(cast.members))
    for k, member in enumerate(cast.members):
        spec = BY_NAME[member.category]
        key = (member.category, member.look)
        if key not in sizes:  # look-alikes share one size: same category, same look
            sizes[key] = int(rng.uniform(*spec.size_frac) * h) & ~1
        size = sizes[key]
        pitch = float(rng.uniform(*PITCH_HZ[member.category]))
        track_id = k + 1
        if member.role == "offscreen":
            events = []
            for s, e in member.intervals:
                events += schedule(spec, rng, s, e, at_start=True)
            sources.append(Source(track_id, member.category, False, pitch, float(rng.choice([-0.9, 0.9])),
                                  events, _trim(member.category, events)))
            continue
        path = _path(rng, w, h, size, member.role == "distractor" and rng.random() < 0.5, duration)
        events, heard = _visual_events(spec, rng, duration, member.intervals)
        instances.append(Instance(track_id, member.category, size, path, events, int(z_order[k])))
        if member.role == "sound":
            x_mid = centers(path, np.array([0.5 * duration]))[0][0]
            pan = float(np.clip(2 * x_mid / w - 1, -1, 1))
            sources.append(Source(track_id, member.category, True, pitch, pan, heard,
                                  _trim(member.category, heard)))
    return instances, sources


def _trim(category: str, events: list[Event]) -> list[list[float]]:
    """Audible stretches: from the first onset of a run of events to the end of its last event's sound."""
    out: list[list[float]] = []
    for onset, dur, _ in events:
        end = onset + event_length(category, dur)
        if out and onset - out[-1][1] < 0.6:
            out[-1][1] = round(max(out[-1][1], end), 4)
        else:
            out.append([round(onset, 4), round(end, 4)])
    return out


def scene_from_meta(meta: dict[str, Any]) -> Scene:
    """Rebuild the scene of a generated video from its meta file (same code path as generation)."""
    syn = meta["synth"]
    return build_scene(seed=syn["seed"], index=syn["index"], kind=syn["kind"], split=meta["split"],
                       defect=meta["expected_rejection"], width=syn["config_width"],
                       height=syn["config_height"], fps=syn["config_fps"], duration_s=syn["config_duration_s"])

"""Presets and settings of AVATAR-Synth, and the plan of which clip is what."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from avatar_bench.errors import AvatarError
from avatar_bench.synth.scene import DEFECTS, KINDS


class SynthError(AvatarError):
    """Bad settings for the generator, or an output folder made with other settings."""


@dataclass(frozen=True, slots=True)
class SynthConfig:
    """Settings of one generated dataset. Every field changes the bytes written, so it is all recorded."""

    preset: str = "tiny"
    width: int = 640
    height: int = 360
    fps: float = 25.0
    duration_s: float = 10.0
    n_train: int = 4  # good clips per split
    n_val: int = 1
    n_test: int = 5
    n_bad: int = 5  # clips the probe filter must reject (one defect each, in turn)
    frames_per_video: int = 5
    x264_preset: str = "veryfast"
    crf: int = 23

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# tiny: every scenario in the test split, one clip of each defect. small: enough for a CPU TAVLO run.
# full: AVATAR's shape (~5,000 videos, ~24k annotated frames) with balanced scenarios.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"n_train": 4, "n_val": 1, "n_test": 5, "n_bad": 5},
    "small": {"n_train": 300, "n_val": 40, "n_test": 60, "n_bad": 10},
    "full": {"n_train": 3800, "n_val": 200, "n_test": 1000, "n_bad": 150},
}
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")


def resolve_config(preset: str, **overrides: Any) -> SynthConfig:
    """The settings of ``preset`` with ``overrides`` applied; raises :class:`SynthError` on bad values."""
    if preset not in PRESETS:
        raise SynthError(f"unknown preset {preset!r}: expected one of {sorted(PRESETS)}")
    names = {f.name for f in dataclasses.fields(SynthConfig)} - {"preset"}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise SynthError(f"unknown setting(s) {unknown}: expected some of {sorted(names)}")
    values = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    cfg = SynthConfig(preset=preset, **values)
    problems = _problems(cfg)
    if problems:
        raise SynthError("bad settings: " + "; ".join(problems))
    return cfg


def _problems(cfg: SynthConfig) -> list[str]:
    out = []
    for name in ("width", "height"):
        value = getattr(cfg, name)
        if not isinstance(value, int) or value < 64 or value % 4:
            out.append(f"{name} must be an integer >= 64 and a multiple of 4, got {value!r}")
    if not (isinstance(cfg.fps, int | float) and 5 <= cfg.fps <= 120):
        out.append(f"fps must be between 5 and 120, got {cfg.fps!r}")
    if not (isinstance(cfg.duration_s, int | float) and 4 <= cfg.duration_s <= 120):
        out.append(f"duration must be between 4 and 120 seconds, got {cfg.duration_s!r}")
    for name in ("n_train", "n_val", "n_test", "n_bad"):
        value = getattr(cfg, name)
        if not isinstance(value, int) or value < 0:
            out.append(f"{name} must be a non-negative integer, got {value!r}")
    if not isinstance(cfg.frames_per_video, int) or not 1 <= cfg.frames_per_video <= 50:
        out.append(f"frames_per_video must be between 1 and 50, got {cfg.frames_per_video!r}")
    if cfg.x264_preset not in X264_PRESETS:
        out.append(f"x264_preset must be one of {X264_PRESETS}, got {cfg.x264_preset!r}")
    if not isinstance(cfg.crf, int) or not 0 <= cfg.crf <= 51:
        out.append(f"crf must be an integer in [0, 51], got {cfg.crf!r}")
    return out


@dataclass(frozen=True, slots=True)
class ClipPlan:
    index: int
    kind: str
    split: str
    defect: str | None


def plan_clips(cfg: SynthConfig) -> list[ClipPlan]:
    """Which clip is what: kinds cycle inside each split (balanced scenarios), bad clips come last."""
    plans: list[ClipPlan] = []
    offsets = {"train": 0, "val": len(KINDS) - 1, "test": 0}  # tiny's single val clip is cross-event
    for split, n in (("train", cfg.n_train), ("val", cfg.n_val), ("test", cfg.n_test)):
        for j in range(n):
            plans.append(ClipPlan(len(plans), KINDS[(j + offsets[split]) % len(KINDS)], split, None))
    for j in range(cfg.n_bad):
        split = "train" if j % 2 == 0 else "test"
        plans.append(ClipPlan(len(plans), KINDS[j % 4], split, DEFECTS[j % len(DEFECTS)]))
    return plans

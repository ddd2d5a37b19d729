"""The visual categories of AVATAR-Synth: their labels, look (sprite drawing), size and rhythm.

Each category has a distinct silhouette, colour and texture, drawn procedurally with numpy on a square
grid, and its own sound (``avatar_bench.synth.audio``) whose events follow the rhythm declared here.
A sprite is an ``(s, s, 3)`` float RGB array in [0, 255] with an ``(s, s)`` boolean alpha: binary alpha is
what makes the instance masks exact (a pixel belongs to one instance or to the background).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """One visual category and its sound signature."""

    id: int
    name: str
    supercategory: str
    audio_labels: tuple[str, ...]  # VGGSound class names heard as this category
    detector_labels: tuple[str, ...]  # detector class names seen as it (open-vocabulary where COCO has none)
    size_frac: tuple[float, float]  # sprite side as a fraction of the frame height (min, max)
    gap_s: tuple[float, float]  # silence between two events (min, max)
    dur_s: tuple[float, float]  # event duration (min, max)
    attack_s: float  # envelope rise time
    decay_s: float  # percussive: exponential decay constant from the onset; sustained: release time
    sustained: bool = False  # True: the envelope holds at 1 for the whole event (engine, horn)


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(1, "drum", "instrument", ("playing drum kit", "playing bass drum", "playing snare drum"),
                 ("drum",), (0.32, 0.42), (0.18, 0.4), (0.25, 0.35), 0.005, 0.10),
    CategorySpec(2, "bell", "instrument", ("church bell ringing", "playing tubular bells"),
                 ("bell",), (0.30, 0.40), (0.2, 0.4), (0.6, 0.9), 0.005, 0.30),
    CategorySpec(3, "bird", "animal", ("bird chirping, tweeting", "bird squawking"),
                 ("bird",), (0.24, 0.32), (0.15, 0.4), (0.15, 0.35), 0.01, 0.03, True),
    CategorySpec(4, "engine", "vehicle", ("engine accelerating, revving, vroom", "car engine idling"),
                 ("car", "truck", "motorcycle"), (0.32, 0.42), (0.2, 0.4), (0.4, 0.8), 0.06, 0.08, True),
    CategorySpec(5, "horn", "vehicle", ("vehicle horn, car horn, honking", "air horn"),
                 ("horn",), (0.30, 0.40), (0.2, 0.4), (0.2, 0.45), 0.01, 0.04, True),
    CategorySpec(6, "dog", "animal", ("dog barking", "dog bow-wow"),
                 ("dog",), (0.30, 0.40), (0.2, 0.4), (0.12, 0.2), 0.008, 0.06),
)
BY_NAME = {c.name: c for c in CATEGORIES}


def _grid(s: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [-1, 1]: ``u`` grows to the right, ``v`` downwards."""
    c = (np.arange(s, dtype=np.float32) + 0.5) / s * 2.0 - 1.0
    return np.meshgrid(c, c)


def _paint(rgb: np.ndarray, where: np.ndarray, colour: tuple[float, float, float]) -> None:
    rgb[where] = colour


def _drum(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = np.hypot(u, v)
    alpha = r <= 0.97
    rgb = np.zeros(u.shape + (3,), np.float32)
    _paint(rgb, alpha, (150, 25, 30))  # shell rim
    head = r <= 0.78
    shade = 225 - 25 * (np.sin(r * 40) > 0.6)  # concentric rings on the head
    rgb[head] = np.stack([shade, shade - 12, shade - 40], -1)[head]
    _paint(rgb, (r <= 0.2), (200, 40, 40))
    lugs = (r > 0.8) & (np.cos(8 * np.arctan2(v, u)) > 0.85)
    _paint(rgb, lugs & alpha, (230, 210, 120))
    return rgb, alpha


def _bell(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = (v + 0.75) / 1.6  # 0 at the crown, 1 at the lip
    half = 0.28 + 0.55 * np.clip(y, 0, 1) ** 2
    body = (y >= 0) & (y <= 1) & (np.abs(u) <= half)
    knob = np.hypot(u, v + 0.82) <= 0.13
    clapper = np.hypot(u, v - 0.9) <= 0.09
    alpha = body | knob | clapper
    rgb = np.zeros(u.shape + (3,), np.float32)
    _paint(rgb, alpha, (225, 175, 45))
    bands = body & ((np.abs(y - 0.55) < 0.05) | (np.abs(y - 0.9) < 0.06))
    _paint(rgb, bands, (150, 100, 20))
    _paint(rgb, body & (u < -0.1) & (u > -0.2 - 0.2 * y), (250, 225, 130))  # highlight
    _paint(rgb, clapper | knob, (90, 60, 25))
    return rgb, alpha


def _bird(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    body = ((u + 0.1) / 0.62) ** 2 + ((v - 0.12) / 0.42) ** 2 <= 1
    head = np.hypot(u - 0.48, v + 0.3) <= 0.3
    beak = (u >= 0.7) & (u <= 0.98) & (np.abs(v + 0.3) <= 0.12 * (0.98 - u) / 0.28)
    tail = (u <= -0.55) & (u >= -0.97) & (np.abs(v - 0.05) <= 0.08 + 0.5 * (-0.55 - u))
    alpha = body | head | beak | tail
    rgb = np.zeros(u.shape + (3,), np.float32)
    _paint(rgb, alpha, (45, 95, 215))
    wing = ((u + 0.2) / 0.42) ** 2 + ((v - 0.1) / 0.2) ** 2 <= 1
    _paint(rgb, wing, (25, 50, 140))
    _paint(rgb, body & (v > 0.3), (230, 230, 240))  # pale belly
    _paint(rgb, beak, (245, 150, 20))
    _paint(rgb, np.hypot(u - 0.56, v + 0.36) <= 0.08, (250, 250, 250))
    _paint(rgb, np.hypot(u - 0.58, v + 0.36) <= 0.04, (10, 10, 10))
    return rgb, alpha


def _engine(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = np.hypot(u, v)
    teeth = np.cos(10 * np.arctan2(v, u)) > 0.2
    alpha = (r <= 0.74) | ((r <= 0.97) & teeth)
    hub = r <= 0.25
    alpha &= ~(r <= 0.12)  # axle hole shows the background
    rgb = np.zeros(u.shape + (3,), np.float32)
    checker = ((np.floor((u + 1) * 5) + np.floor((v + 1) * 5)) % 2).astype(np.float32)
    grey = 130 + 40 * checker
    rgb[...] = np.stack([grey, grey, grey + 15], -1)
    _paint(rgb, hub, (60, 60, 70))
    _paint(rgb, (np.abs(r - 0.55) < 0.04), (40, 40, 45))
    return rgb, alpha


def _horn(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = (u + 0.95) / 1.9  # 0 at the mouthpiece, 1 at the bell
    half = 0.1 + 0.62 * np.clip(x, 0, 1) ** 2.2
    cone = (x >= 0) & (x <= 1) & (np.abs(v) <= half)
    rim = (np.abs(u - 0.85) <= 0.1) & (np.abs(v) <= 0.82)
    alpha = cone | rim
    rgb = np.zeros(u.shape + (3,), np.float32)
    _paint(rgb, alpha, (245, 120, 20))
    _paint(rgb, cone & (np.sin(x * 28) > 0.5), (255, 200, 60))  # rings along the tube
    _paint(rgb, rim, (120, 50, 10))
    return rgb, alpha


def _dog(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    body = (np.abs(u + 0.15) <= 0.6) & (np.abs(v - 0.15) <= 0.3)
    head = np.hypot(u - 0.5, v + 0.3) <= 0.33
    ears = (np.abs(u - 0.35) <= 0.1) & (v >= -0.85) & (v <= -0.45) & (np.abs(u - 0.35) <= 0.1 * (v + 0.85) / 0.4)
    ears |= (np.abs(u - 0.68) <= 0.1) & (v >= -0.85) & (v <= -0.45)
    legs = (v > 0.4) & (v <= 0.9) & ((np.abs(u + 0.6) <= 0.09) | (np.abs(u - 0.3) <= 0.09))
    tail = (u <= -0.7) & (u >= -0.98) & (np.abs(v + 0.15 + 0.6 * (u + 0.7)) <= 0.07)
    alpha = body | head | ears | legs | tail
    rgb = np.zeros(u.shape + (3,), np.float32)
    _paint(rgb, alpha, (150, 95, 50))
    spots = body & ((np.hypot(u + 0.35, v - 0.1) <= 0.14) | (np.hypot(u - 0.1, v - 0.25) <= 0.1))
    _paint(rgb, spots, (70, 40, 20))
    _paint(rgb, ears, (90, 55, 25))
    _paint(rgb, np.hypot(u - 0.8, v + 0.25) <= 0.07, (15, 15, 15))
    _paint(rgb, np.hypot(u - 0.55, v + 0.38) <= 0.05, (250, 250, 250))
    return rgb, alpha


DRAWERS: dict[str, Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]] = {
    "drum": _drum, "bell": _bell, "bird": _bird, "engine": _engine, "horn": _horn, "dog": _dog,
}


def draw_sprite(category: str, size: int, glow: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Draw one category's sprite.

    Args:
        category: a name from :data:`CATEGORIES`.
        size: side of the square sprite in pixels.
        glow: pulse strength in [0, 1]; the colours move towards white by ``0.5 * glow``.

    Returns:
        ``(rgb, alpha)``: float32 ``(size, size, 3)`` in [0, 255] and bool ``(size, size)``.
    """
    u, v = _grid(size)
    rgb, alpha = DRAWERS[category](u, v)
    if glow > 0:
        rgb = rgb + (255.0 - rgb) * (0.5 * glow)
    rgb[~alpha] = 0
    return rgb, alpha

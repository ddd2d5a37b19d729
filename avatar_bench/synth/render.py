"""Frame rendering: a textured background and pulsing sprites composed directly in YUV 4:2:0.

One paste routine writes the colour planes *and* the instance-id buffer with the same slices and the same
binary alpha, so the id buffer (the mask pass) is exactly the set of pixels each instance covers in the
colour pass. Pulses are quantised to :data:`LEVELS` levels so that sprites are drawn once and cached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from avatar_bench.synth.audio import pulse
from avatar_bench.synth.categories import draw_sprite
from avatar_bench.synth.scene import Instance, Scene, centers
from avatar_bench.synth.yuv import frame_views, rgb_to_yuv, to_planes

LEVELS = 8  # quantisation of the pulse envelope
PULSE_SCALE = 0.15  # a full pulse makes the sprite this much larger (and brighter, see draw_sprite)
PALETTE = ((60, 110, 55), (40, 95, 105), (105, 100, 50), (85, 60, 90), (50, 60, 95))


@dataclass(slots=True)
class Sprite:
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    alpha: np.ndarray  # (s, s) bool: luma / mask pixels
    alpha_c: np.ndarray  # (s/2, s/2) bool: chroma pixels
    area: int


def make_sprite(category: str, size: int, level: int) -> Sprite:
    """The sprite of ``category`` at rest size ``size`` and pulse ``level`` (0 = rest)."""
    env = level / (LEVELS - 1)
    side = max(2, int(round(size * (1.0 + PULSE_SCALE * env) / 2.0)) * 2)
    rgb, alpha = draw_sprite(category, side, glow=env)
    y, u, v, a_c = to_planes(rgb_to_yuv(rgb), alpha)
    return Sprite(y, u, v, alpha, a_c, int(alpha.sum()))


def background(scene: Scene) -> np.ndarray:
    """The clip's static textured background as a yuv420p buffer ``(H * 3 / 2, W)``.

    Low-frequency value noise, two oriented gratings and fine grain: enough texture for the variance of
    the Laplacian to tell sharp from blurred frames.
    """
    rng = np.random.default_rng(scene.bg_seed)
    h, w = scene.height, scene.width
    base = np.array(PALETTE[int(rng.integers(len(PALETTE)))], dtype=np.float32)
    coarse = rng.uniform(-1, 1, size=(5, 8)).astype(np.float32)
    low = ndimage.zoom(coarse, (h / coarse.shape[0], w / coarse.shape[1]), order=1)[:h, :w]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    texture = np.zeros((h, w), np.float32)
    for _ in range(2):
        theta, period = rng.uniform(0, np.pi), rng.uniform(8, 24) * w / 640
        texture += rng.uniform(8, 14) * np.sin((xx * np.cos(theta) + yy * np.sin(theta)) * 2 * np.pi / period)
    texture += rng.normal(0, 4, size=(h, w)).astype(np.float32)
    rgb = base[None, None, :] * (1.0 + 0.35 * low[..., None]) + texture[..., None]
    y, u, v = to_planes(rgb_to_yuv(np.clip(rgb, 0, 255)))
    return np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w)


class Renderer:
    """Renders frame ``i`` of a scene into a yuv420p buffer and an instance-id buffer."""

    def __init__(self, scene: Scene):
        self.scene = scene
        n, h, w = scene.n_frames, scene.height, scene.width
        self.times = np.arange(n, dtype=np.float64) / scene.fps
        self.bg = background(scene)
        self.buf = np.empty_like(self.bg)
        self.ids = np.zeros((h, w), dtype=np.uint8)
        self.order: list[Instance] = sorted(scene.instances, key=lambda inst: inst.z)
        self.levels = {inst.track_id: np.rint(pulse(inst.category, inst.events, self.times) * (LEVELS - 1))
                       .astype(np.int64) for inst in scene.instances}
        self.paths = {inst.track_id: centers(inst.path, self.times) for inst in scene.instances}
        self._sprites: dict[tuple[str, int, int], Sprite] = {}
        self.boxes: dict[int, tuple[int, int, int, int, Sprite]] = {}  # last frame: track -> (x0, y0, ...)

    def sprite(self, inst: Instance, level: int) -> Sprite:
        key = (inst.category, inst.size, level)
        if key not in self._sprites:
            self._sprites[key] = make_sprite(*key)
        return self._sprites[key]

    def render(self, i: int, blur: bool = True, colour: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Compose frame ``i``; returns views of the reused ``(buf, ids)`` buffers (copy to keep them).

        With ``colour=False`` only the instance-id buffer is drawn (the mask-only pass; ``buf`` is stale).
        """
        h, w = self.scene.height, self.scene.width
        if colour:
            np.copyto(self.buf, self.bg)
        self.ids.fill(0)
        y_p, u_p, v_p = frame_views(self.buf, h, w)
        self.boxes.clear()
        for inst in self.order:
            spr = self.sprite(inst, int(self.levels[inst.track_id][i]))
            side = spr.alpha.shape[0]
            cx, cy = self.paths[inst.track_id][0][i], self.paths[inst.track_id][1][i]
            x0 = int(np.floor((cx - side / 2) / 2)) * 2  # even: the chroma grid must line up
            y0 = int(np.floor((cy - side / 2) / 2)) * 2
            self.boxes[inst.track_id] = (x0, y0, side, side, spr)
            fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
            if fx1 <= fx0 or fy1 <= fy0:
                continue
            win = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
            a = spr.alpha[win]
            np.copyto(self.ids[fy0:fy1, fx0:fx1], np.uint8(inst.track_id), where=a)
            if not colour:
                continue
            np.copyto(y_p[fy0:fy1, fx0:fx1], spr.y[win], where=a)
            cwin = (slice((fy0 - y0) // 2, (fy1 - y0) // 2), slice((fx0 - x0) // 2, (fx1 - x0) // 2))
            ac = spr.alpha_c[cwin]
            np.copyto(u_p[fy0 // 2:fy1 // 2, fx0 // 2:fx1 // 2], spr.u[cwin], where=ac)
            np.copyto(v_p[fy0 // 2:fy1 // 2, fx0 // 2:fx1 // 2], spr.v[cwin], where=ac)
        if colour and blur and i in self.scene.blurred:
            self._blur(*self.scene.blurred[i])
        return self.buf, self.ids

    def visible_fraction(self) -> dict[int, float]:
        """For the last rendered frame: visible pixels of each instance over its whole sprite area."""
        h, w = self.scene.height, self.scene.width
        out = {}
        for tid, (x0, y0, sw, sh, spr) in self.boxes.items():
            region = self.ids[max(y0, 0):min(y0 + sh, h), max(x0, 0):min(x0 + sw, w)]
            out[tid] = float(np.count_nonzero(region == tid)) / max(spr.area, 1)
        return out

    def _blur(self, kind: str, size: int) -> None:
        h, w = self.scene.height, self.scene.width
        for k, plane in enumerate(frame_views(self.buf, h, w)):
            s = size if k == 0 else max(1, size // 2)
            if kind == "motion":  # horizontal camera shake
                plane[...] = ndimage.uniform_filter1d(plane, s, axis=1, mode="nearest")
            else:  # defocus, a box approximation of the lens disc
                plane[...] = ndimage.uniform_filter(plane, s, mode="nearest")

"""Frames-only synthetic AVATAR ground truth and submissions of controlled quality (like lhotse's dummies).

No video or image is made: only AVATAR-COCO records with realistic instance masks (ellipses, blobs of
ellipses, star-shaped polygons) that drift across the annotated frames of each video, and heatmaps computed
from them on demand. Everything is deterministic given the seed; the full AVATAR size (24,266 frames at
640x360) is made in tens of seconds.

    gt = make_gt(24_266, width=640, height=360, seed=0)       # all four scenarios, cross-event videos, twins
    sub = make_submission(gt, "blob", size=(224, 224))          # lazy Mapping image id -> heatmap
    write_submission("sub.npz", sub)                            # streams, one heatmap at a time
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from avatar_bench import naming, rle
from avatar_bench.format import SCHEMA_VERSION, Annotation, AvatarDataset, Category, Image, Video

CATEGORIES = (  # (name, supercategory, audio labels, detector labels)
    ("dog", "animal", ["dog barking", "dog growling"], ["dog"]),
    ("guitar", "instrument", ["playing acoustic guitar", "playing electric guitar"], ["guitar"]),
    ("car", "vehicle", ["car engine idling", "car passing by"], ["car"]),
    ("person", "human", ["male speech, man speaking", "female singing"], ["person"]),
    ("piano", "instrument", ["playing piano"], ["piano"]),
    ("drum", "instrument", ["playing drum kit"], ["drum"]),
    ("cat", "animal", ["cat meowing", "cat purring"], ["cat"]),
    ("violin", "instrument", ["playing violin, fiddle"], ["violin"]),
)
SCENARIO_WEIGHTS = {"single": 0.45, "mixed": 0.2, "multi_entity": 0.2, "off_screen": 0.15}
# Cross-event plans: the set of sounding categories changes between the two halves of the video.
CROSS_PLANS = (("single", "mixed"), ("single", "off_screen"), ("mixed", "single"), ("single", "switch"),
               ("multi_entity", "off_screen"))
# The first videos follow these plans so that even a tiny set covers every scenario and a cross-event video.
_FIRST_PLANS = (("single",), ("mixed",), ("multi_entity",), ("off_screen",), ("single", "mixed"))
QUALITIES = ("perfect", "shifted", "noise", "empty", "constant", "silent_twin", "blob")
FPS = 25.0


@dataclass
class _Track:
    track_id: int
    category_id: int
    shape: str  # ellipse | blob | polygon
    rx: float
    ry: float
    angle: float
    cx: float
    cy: float
    vx: float
    vy: float
    seed: int


def _template(t: _Track) -> np.ndarray:
    """The track's mask on a local grid centred on the object (objects move rigidly, so it is drawn once)."""
    r = int(max(t.rx, t.ry) * 1.3) + 1
    d = np.arange(-r, r + 1, dtype=np.float32)
    dy, dx = d[:, None], d[None, :]
    c, s = np.float32(np.cos(t.angle)), np.float32(np.sin(t.angle))
    u, v = c * dx + s * dy, -s * dx + c * dy
    if t.shape == "ellipse":
        return (u / t.rx) ** 2 + (v / t.ry) ** 2 <= 1
    rng = np.random.default_rng(t.seed)
    if t.shape == "blob":  # a body and three lobes
        mask = (u / t.rx) ** 2 + (v / t.ry) ** 2 <= 0.6
        for ox, oy, k in rng.uniform([-0.6, -0.6, 0.25], [0.6, 0.6, 0.5], size=(3, 3)):
            mask |= ((u - ox * t.rx) / (k * t.rx)) ** 2 + ((v - oy * t.ry) / (k * t.ry)) ** 2 <= 1
        return mask
    n = int(rng.integers(5, 10))  # star-shaped polygon: the radius varies with the angle
    radii = rng.uniform(0.55, 1.0, size=n)
    pos = (np.arctan2(v / t.ry, u / t.rx) + np.pi) / (2 * np.pi) * n
    i0 = pos.astype(int) % n
    frac = pos - np.floor(pos)
    rad = radii[i0] * (1 - frac) + radii[(i0 + 1) % n] * frac
    return (u / t.rx) ** 2 + (v / t.ry) ** 2 <= rad**2


class _Canvas:
    """A reusable Fortran-ordered frame buffer for RLE encoding (encode wants the whole frame)."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.buf = np.zeros((height, width), dtype=np.uint8, order="F")
        self._templates: dict[int, np.ndarray] = {}

    def rle(self, t: _Track, frame_index: int) -> dict:
        tpl = self._templates.get(t.track_id)
        if tpl is None:
            tpl = self._templates[t.track_id] = _template(t)
        r = tpl.shape[0] // 2
        cx = min(max(round(t.cx + t.vx * frame_index), 0), self.width - 1)
        cy = min(max(round(t.cy + t.vy * frame_index), 0), self.height - 1)
        x0, y0 = max(cx - r, 0), max(cy - r, 0)
        x1, y1 = min(cx + r + 1, self.width), min(cy + r + 1, self.height)
        window = self.buf[y0:y1, x0:x1]
        window[...] = tpl[y0 - (cy - r):y1 - (cy - r), x0 - (cx - r):x1 - (cx - r)]
        if not window.any():  # a sliver off the border: keep the object visible with its centre pixel
            self.buf[cy, cx] = 1
        seg = rle.encode(self.buf)
        window[...] = 0
        self.buf[cy, cx] = 0
        return seg


def _new_track(rng: np.random.Generator, track_id: int, category_id: int, width: int, height: int,
               like: _Track | None = None) -> _Track:
    if like is not None:  # a look-alike twin: same shape and size, elsewhere in the frame
        rx, ry, shape, angle, seed = like.rx, like.ry, like.shape, like.angle, like.seed
    else:
        # Log-uniform sizes: from a far bird (~1% of the frame) to a close-up guitarist (~40%).
        rx = float(np.exp(rng.uniform(np.log(0.04), np.log(0.32))) * width)
        ry = float(np.clip(rx * rng.uniform(0.6, 1.8), 0.05 * height, 0.45 * height))
        shape = str(rng.choice(["ellipse", "blob", "polygon"]))
        angle, seed = float(rng.uniform(0, np.pi)), int(rng.integers(1 << 31))
    cx = float(rng.uniform(rx * 0.5, width - rx * 0.5))
    cy = float(rng.uniform(ry * 0.5, height - ry * 0.5))
    vx, vy = (float(v) for v in rng.normal(0, 0.15, size=2) * np.array([width, height]) / 250)
    return _Track(track_id, category_id, shape, rx, ry, angle, cx, cy, vx, vy, seed)


def _frame_cast(scenario: str, tracks: dict[str, _Track], rng: np.random.Generator, twin_sounds: str
                ) -> tuple[list[_Track], list[_Track], list[int], str]:
    """(visible tracks, sounding tracks, heard category ids, AVATAR scenario) of one frame."""
    a, a2, b, heard_off = tracks["A"], tracks["A2"], tracks["B"], tracks["C"].category_id
    extra_b = [b] if rng.random() < 0.5 else []
    if scenario == "single":
        return [a, *extra_b], [a], [a.category_id], "single"
    if scenario == "switch":  # the other object now makes the sound
        return [a, b], [b], [b.category_id], "single"
    if scenario == "mixed":
        return [a, b], [a, b], sorted({a.category_id, b.category_id}), "mixed"
    if scenario == "multi_entity":
        src = a if twin_sounds == "A" else a2
        return [a, a2, *extra_b], [src], [a.category_id], "multi_entity"
    return ([b] if rng.random() < 0.7 else []), [], [heard_off], "off_screen"


def _video_plan(rng: np.random.Generator, index: int, cross_event_fraction: float) -> tuple[str, ...]:
    if index < len(_FIRST_PLANS):
        return _FIRST_PLANS[index]
    if rng.random() < cross_event_fraction:
        return CROSS_PLANS[int(rng.integers(len(CROSS_PLANS)))]
    names = list(SCENARIO_WEIGHTS)
    return (str(rng.choice(names, p=list(SCENARIO_WEIGHTS.values()))),)


def make_gt(n_frames: int = 40, *, width: int = 640, height: int = 360, seed: int = 0, frames_per_video: int = 5,
            cross_event_fraction: float = 0.25, split: str = "test") -> AvatarDataset:
    """A synthetic AVATAR-COCO split of exactly ``n_frames`` annotated frames.

    Args:
        n_frames: annotated frames (images); videos have ``frames_per_video`` each (the last may have fewer).
        width, height: frame size of every video.
        seed: everything follows from it.
        frames_per_video: annotated frames per video (AVATAR has about 5).
        cross_event_fraction: share of videos whose sounding categories change between frames.
        split: the videos' split.
    """
    rng = np.random.default_rng(seed)
    ds = AvatarDataset(info={"version": SCHEMA_VERSION, "description": f"avatar_bench dummies, seed {seed}"})
    ds.categories = [Category(id=i + 1, name=n, supercategory=s, audio_labels=list(al), detector_labels=list(dl))
                     for i, (n, s, al, dl) in enumerate(CATEGORIES)]
    canvas = _Canvas(width, height)
    counters = {"image": 0, "ann": 0, "track": 0}
    vid = 0
    while counters["image"] < n_frames:
        vid += 1
        n = min(frames_per_video, n_frames - counters["image"])
        _add_video(ds, rng, vid, n, canvas, counters, _video_plan(rng, vid - 1, cross_event_fraction), split)
    return ds


def _add_video(ds: AvatarDataset, rng: np.random.Generator, vid: int, n: int, canvas: _Canvas, counters: dict,
               plan: tuple[str, ...], split: str) -> None:
    name = naming.clip_name(f"dm{vid:09d}", 0)
    ds.videos.append(Video(id=vid, name=name, file_name=naming.clip_file_name(name), width=canvas.width,
                           height=canvas.height, fps=FPS, duration_s=10.0, source="synth", source_label=plan[0],
                           split=split))
    cat_a, cat_b, cat_c = (int(c) + 1 for c in rng.choice(len(CATEGORIES), size=3, replace=False))
    tracks: dict[str, _Track] = {}
    for role, cat in (("A", cat_a), ("A2", cat_a), ("B", cat_b), ("C", cat_c)):
        counters["track"] += 1
        tracks[role] = _new_track(rng, counters["track"], cat, canvas.width, canvas.height,
                                  like=tracks.get("A") if role == "A2" else None)
    twin_sounds = "A" if rng.random() < 0.5 else "A2"
    frame_indices = np.sort(rng.choice(int(10 * FPS), size=n, replace=False))
    for j, fi in enumerate(int(f) for f in frame_indices):
        part = plan[min(j * len(plan) // n, len(plan) - 1)]
        visible, sounding, heard, scenario = _frame_cast(part, tracks, rng, twin_sounds)
        counters["image"] += 1
        image_id = counters["image"]
        ds.images.append(Image(id=image_id, video_id=vid, file_name=naming.frame_file_name(name, fi),
                               width=canvas.width, height=canvas.height, frame_index=fi, timestamp_s=fi / FPS,
                               scenario=scenario, sounding_category_ids=heard))
        for t in visible:
            counters["ann"] += 1
            seg = canvas.rle(t, fi)
            ds.annotations.append(Annotation(
                id=counters["ann"], image_id=image_id, video_id=vid, track_id=t.track_id, category_id=t.category_id,
                segmentation=seg, bbox=rle.bbox(seg), area=float(rle.area(seg)), sounding=t in sounding,
                origin="human", score=1.0))


# -------------------------------------------------------------------------------------------- submissions
def _nearest(mask: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or tuple(size) == mask.shape:
        return mask
    h, w = size
    rows = ((np.arange(h) + 0.5) * mask.shape[0] / h).astype(int)
    cols = ((np.arange(w) + 0.5) * mask.shape[1] / w).astype(int)
    return mask[np.ix_(rows, cols)]


class DummySubmission(Mapping):
    """A lazy Mapping image id (or frame key) -> heatmap of the requested quality; computed on access."""

    def __init__(self, gt: AvatarDataset, quality: str, size: tuple[int, int] | None, seed: int, keys: str,
                 shift: float, dtype: np.dtype):
        if quality not in QUALITIES:
            raise ValueError(f"expected quality in {QUALITIES}, got {quality!r}")
        if keys not in ("id", "name"):
            raise ValueError(f"expected keys 'id' or 'name', got {keys!r}")
        self.gt, self.quality, self.size, self.seed, self.shift, self.dtype = gt, quality, size, seed, shift, dtype
        self._keys = {(im.id if keys == "id" else gt.frame_key(im)): im for im in gt.images}

    def __iter__(self) -> Iterator:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, key) -> np.ndarray:
        im = self._keys[key]
        rng = np.random.default_rng((self.seed, im.id))
        return _heatmap(self, im, rng).astype(self.dtype)


def _heatmap(sub: DummySubmission, im: Image, rng: np.random.Generator) -> np.ndarray:
    h, w = sub.size or (im.height, im.width)
    anns = sub.gt.anns_by_image.get(im.id, [])
    sounding = [a for a in anns if a.sounding]
    q = sub.quality
    if q == "empty":
        return np.zeros((h, w), np.float32)
    if q == "constant":
        return np.full((h, w), 0.5, np.float32)
    if q == "noise":
        return rng.random((h, w), dtype=np.float32)
    if q == "blob":
        return _blob_heatmap(im, sounding, [a for a in anns if not a.sounding], rng, h, w)
    if q == "silent_twin" and im.scenario == "multi_entity":
        cat = sounding[0].category_id
        sounding = [a for a in anns if not a.sounding and a.category_id == cat]
    mask = rle.union([a.segmentation for a in sounding], (im.height, im.width))
    if q == "shifted" and mask.any():
        cols = np.flatnonzero(mask.any(axis=0))
        dx = max(int(round(sub.shift * (cols[-1] - cols[0] + 1))), 1)
        mask = np.concatenate([np.zeros((im.height, dx), bool), mask[:, :-dx]], axis=1) if dx < im.width else \
            np.zeros_like(mask)
    return _nearest(mask, sub.size).astype(np.float32)


def _blob_heatmap(im: Image, sounding: list, silent: list, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A model-like soft map: Gaussian bumps on the sounding objects (off screen: a weaker false alarm)."""
    ys, xs = (np.arange(h, dtype=np.float32) + 0.5) / h, (np.arange(w, dtype=np.float32) + 0.5) / w
    # Smooth background (models' maps are low-frequency) plus a little pixel noise against exact ties.
    fy, fx, py, px = rng.uniform([0.5, 0.5, 0, 0], [2, 2, 1, 1])
    wave = np.outer(np.cos(2 * np.pi * (fy * ys + py)), np.cos(2 * np.pi * (fx * xs + px))).astype(np.float32)
    out = np.float32(rng.uniform(0.05, 0.3)) * (1 + wave) / 2 + rng.random((h, w), dtype=np.float32) * np.float32(0.01)
    targets = sounding or (silent[:1] if rng.random() < 0.6 else [])
    peak = 1.0 if sounding else float(rng.uniform(0.1, 0.9))
    for a in targets:
        x, y, bw, bh = a.bbox
        cx, cy = (x + bw / 2) / im.width + rng.normal(0, 0.03), (y + bh / 2) / im.height + rng.normal(0, 0.03)
        sx, sy = max(bw / im.width / 2.5, 0.02), max(bh / im.height / 2.5, 0.02)
        gy = np.exp(-0.5 * ((ys - cy) / sy) ** 2)
        gx = np.exp(-0.5 * ((xs - cx) / sx) ** 2)
        out = np.maximum(out, np.float32(peak * rng.uniform(0.7, 1.0)) * np.outer(gy, gx).astype(np.float32))
    return np.clip(out, 0, 1)


def make_submission(gt: AvatarDataset, quality: str = "perfect", *, size: tuple[int, int] | None = None,
                    seed: int = 0, keys: str = "id", shift: float = 0.5, dtype: type = np.float32
                    ) -> DummySubmission:
    """Heatmaps of a controlled quality for every image of ``gt`` (lazy; deterministic given ``seed``).

    Qualities: ``perfect`` (the GT union, so IoU 1 at GT size), ``shifted`` (moved right by ``shift`` of its
    width), ``noise`` (uniform), ``empty`` (zeros), ``constant`` (0.5 everywhere), ``silent_twin`` (on
    multi-entity frames the silent look-alike's mask, elsewhere perfect), ``blob`` (model-like soft bumps).

    Args:
        gt: the ground truth.
        quality: one of :data:`QUALITIES`.
        size: heatmap (H, W); None for each frame's GT size (binary qualities resize by nearest).
        seed: random seed (per frame: (seed, image id)).
        keys: "id" (image ids) or "name" ("<video name>/<frame_index>").
        shift: fraction of the mask's width the ``shifted`` quality moves it by.
        dtype: array dtype of the heatmaps.
    """
    return DummySubmission(gt, quality, size, seed, keys, shift, np.dtype(dtype))


def sample_dataset() -> AvatarDataset:
    """The small dataset committed as ``annotations/sample/avatar_coco_sample.json``.

    Five videos of three frames at 160x90: every scenario and one cross-event video. Regenerate the file with
    ``sample_dataset().save(path, indent=1)`` after changing the generator (a test compares the two).
    """
    ds = make_gt(15, width=160, height=90, seed=7, frames_per_video=3)
    ds.info["description"] = "AVATAR-COCO sample: 5 videos, 15 frames, all four scenarios, one cross-event video"
    return ds

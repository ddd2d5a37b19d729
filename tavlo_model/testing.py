"""Tiny AVATAR-Synth-like datasets for tests and examples (lhotse ``dummies`` style).

``make_toy_dataset`` writes real H.264/AAC ``.mp4`` files with PyAV in the AVATAR-Synth layout (the layout
``videos/<name>.mp4``, ``vggsound.csv``, ``annotations/{train,val,test}.json``): coloured squares whose
category has its own tone; the sounding square brightens while its tone is on, a silent look-alike flickers out
of sync (multi-entity), and some clips hear a category that is not visible (off-screen). Seconds to make.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from avatar_bench import rle
from avatar_bench.format import Annotation, AvatarDataset, Category, Image, Video
from avatar_bench.naming import clip_file_name, clip_name, frame_file_name

CATEGORIES = [(1, "beeper", 440.0, (230, 40, 40)), (2, "buzzer", 1250.0, (40, 80, 230))]
SLOT_S = 0.2  # on/off pattern resolution of the tones


def write_mp4(path: str | os.PathLike, frames: np.ndarray, fps: int, wave: np.ndarray, sample_rate: int) -> None:
    """Write uint8 ``(N, H, W, 3)`` frames and a mono float wave as an H.264 + AAC ``.mp4``."""
    import av

    with av.open(str(path), "w") as container:
        vs = container.add_stream("libx264", rate=fps)
        vs.height, vs.width = frames.shape[1:3]
        vs.pix_fmt, vs.options = "yuv420p", {"preset": "ultrafast", "crf": "18"}
        aus = container.add_stream("aac", rate=sample_rate)
        aus.layout = "mono"
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = i
            container.mux(vs.encode(frame))
        container.mux(vs.encode())
        for k in range(0, len(wave), 1024):
            chunk = av.AudioFrame.from_ndarray(wave[None, k : k + 1024].astype(np.float32), format="flt",
                                               layout="mono")
            chunk.sample_rate, chunk.pts = sample_rate, k
            container.mux(aus.encode(chunk))
        container.mux(aus.encode())


def _plan(v: int, rng: np.random.Generator) -> tuple[str, int, list[tuple[int, bool]]]:
    """(scenario, heard category, visible instances as (category, sounding)) of video ``v``."""
    heard = CATEGORIES[v % 2][0]
    other = CATEGORIES[(v + 1) % 2][0]
    kind = ("single", "multi_entity", "off_screen")[v % 3]
    if kind == "single":
        return kind, heard, [(heard, True)]
    if kind == "multi_entity":
        return kind, heard, [(heard, True), (heard, False)] if rng.random() < 0.5 else [(heard, False), (heard, True)]
    return kind, heard, [(other, False)]


def make_toy_dataset(root: str | os.PathLike, n_videos: int = 6, width: int = 96, height: int = 64, fps: int = 25,
                     seconds: float = 2.0, sample_rate: int = 16000, seed: int = 0) -> Path:
    """Write a toy AVATAR-Synth-like dataset under ``root`` and return ``root``."""
    root = Path(root)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_frames, n_slots = int(seconds * fps), int(np.ceil(seconds / SLOT_S))
    side = max(8, height // 3)
    splits = ["train"] * max(1, n_videos - 2 * max(1, n_videos // 5)) + ["val", "test"] * max(1, n_videos // 5)
    data = {s: AvatarDataset(categories=[Category(id=c, name=n) for c, n, _, _ in CATEGORIES]) for s in
            ("train", "val", "test")}
    rows = []
    for v in range(n_videos):
        name, split = clip_name(f"sy{v:09d}", 0), splits[v % len(splits)]
        kind, heard, instances = _plan(v, rng)
        on = rng.random((len(instances) + 1, n_slots)) < 0.5  # row 0: the heard tone; rows 1..: look-alike flicker
        t = np.arange(int(seconds * sample_rate)) / sample_rate
        gate = on[0][np.minimum((t / SLOT_S).astype(int), n_slots - 1)]
        wave = 0.3 * gate * np.sin(2 * np.pi * dict((c, f) for c, _, f, _ in CATEGORIES)[heard] * t)
        wave += 0.01 * rng.standard_normal(len(t))
        frames = np.full((n_frames, height, width, 3), 90, np.uint8)
        boxes = [(int(width * (0.1 + 0.5 * k)), (height - side) // 2) for k in range(len(instances))]
        for f in range(n_frames):
            slot = min(int(f / fps / SLOT_S), n_slots - 1)
            for k, ((cat, sounding), (x, y)) in enumerate(zip(instances, boxes, strict=True)):
                lit = on[0, slot] if sounding else on[k + 1, slot]
                colour = np.array(CATEGORIES[cat - 1][3]) * (1.0 if lit else 0.45)
                frames[f, y : y + side, x : x + side] = colour.astype(np.uint8)
        write_mp4(root / "videos" / clip_file_name(name), frames, fps, wave.astype(np.float32), sample_rate)
        rows.append([name[:11], 0, CATEGORIES[heard - 1][1], split])
        _annotate(data[split], split, v, name, kind, heard, instances, boxes, side, (width, height), fps, seconds)
    (root / "annotations").mkdir(exist_ok=True)
    for split, ds in data.items():
        ds.save(root / "annotations" / f"{split}.json")
    with open(root / "vggsound.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return root


def _annotate(ds: AvatarDataset, split: str, v: int, name: str, kind: str, heard: int, instances, boxes, side: int,
              size: tuple[int, int], fps: int, seconds: float) -> None:
    width, height = size
    ds.videos.append(Video(id=v + 1, name=name, file_name=clip_file_name(name), width=width, height=height, fps=fps,
                           duration_s=seconds, source="synth", split=split))
    for j, frac in enumerate((0.3, 0.5, 0.7)):
        image_id = (v + 1) * 100 + j
        frame = int(frac * seconds * fps)
        ds.images.append(Image(id=image_id, video_id=v + 1, file_name=frame_file_name(name, frame), width=width,
                               height=height, frame_index=frame, timestamp_s=frame / fps, scenario=kind,
                               sounding_category_ids=[heard]))
        for k, ((cat, sounding), (x, y)) in enumerate(zip(instances, boxes, strict=True)):
            mask = np.zeros((height, width), bool)
            mask[y : y + side, x : x + side] = True
            seg = rle.encode(mask)
            ds.annotations.append(Annotation(id=image_id * 10 + k, image_id=image_id, video_id=v + 1, track_id=k,
                                             category_id=cat, segmentation=seg, bbox=rle.bbox(seg),
                                             area=float(rle.area(seg)), sounding=sounding, origin="human"))


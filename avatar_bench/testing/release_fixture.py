"""Write any AVATAR-COCO split (AVATAR-Synth ground truth, dummies) in the released benchmark's layout.

::

    OUT/metadata/<youtube_id>_<start:05d>/<frame:05d>.json   original_width/height, annotations (polygons)
    OUT/metadata/<youtube_id>_<start:05d>/<frame:05d>.jpg    images="beside" (or OUT/frames/... "parallel")
    OUT/video/<youtube_id>_<start:05d>.mp4                   when videos_src is given

Only sounding instances are written, as the release does; an off-screen frame gets one ``Off-Screen``
annotation per heard category, without segmentation. Polygons trace the *pixel edges* of each connected
part of the exact mask (corners at half-integer coordinates, pixel centres at integers as in COCO), so
pycocotools rasterises them back to exactly the mask with its holes filled (COCO polygons cannot hold
holes): that, and nothing else, separates a mask from its round trip.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avatar_bench import rle
from avatar_bench.format import AvatarDataset, Image
from avatar_bench.naming import RELEASE_DIGITS, clip_file_name, frame_file_name, release_clip_name, split_clip_name
from avatar_bench.release.tasks import RELEASE_NAMES

IMAGES = ("beside", "parallel", "placeholder", "none")


def mask_to_polygons(mask: np.ndarray, simplify: float = 0.0) -> list[list[float]]:
    """Flat ``[x0, y0, x1, y1, ...]`` outlines along the pixel edges of each connected part of ``mask``.

    ``simplify`` > 0 drops vertices closer than that many pixels to the outline (``cv2.approxPolyDP``), like
    the sparser polygons of annotation tools; the round trip is then no longer exact.
    """
    import cv2

    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return []
    y0, x0 = int(ys.min()), int(xs.min())
    crop = np.ascontiguousarray(mask[y0:ys.max() + 1, x0:xs.max() + 1], dtype=np.uint8)
    # At twice the resolution the outermost sub-pixels of a pixel are its edges: sub-pixel u of pixel u // 2
    # is its left (top) edge when even, its right (bottom) edge when odd.
    big = np.pad(np.kron(crop, np.ones((2, 2), np.uint8)), 1)
    contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for c in contours:
        if simplify > 0:
            c = cv2.approxPolyDP(c, 2 * simplify, True)  # in sub-pixels: twice the pixels
        u = c.reshape(-1, 2) - 1
        pts = u // 2 + np.where(u % 2, 0.5, -0.5) + (x0, y0)
        if len(pts) >= 3:
            out.append([float(v) for v in pts.ravel()])
    return out


@dataclass
class ReleaseFixture:
    """Where the written release lies and how its frames are keyed."""

    root: Path
    metadata: Path
    frames: Path | None  # frames root (the metadata folder when images are beside)
    videos: Path | None
    keys: dict[int, str] = field(default_factory=dict)  # source image id -> "<folder>/<frame:05d>"


def _frame_json(ds: AvatarDataset, im: Image, extra_keys: bool, simplify: float) -> dict:
    cats = ds.category_by_id
    anns = []
    if im.scenario == "off_screen":
        anns = [{"audio_visual_category": cats[c].name, "task": RELEASE_NAMES["off_screen"]}
                for c in im.sounding_category_ids]
    for a in ds.anns_by_image.get(im.id, []):
        if a.sounding:
            polys = mask_to_polygons(rle.decode(a.segmentation), simplify)
            anns.append({"segmentation": polys, "bbox": rle.bbox(a.segmentation),
                         "audio_visual_category": cats[a.category_id].name, "task": RELEASE_NAMES[im.scenario],
                         **({"instance_id": a.track_id} if extra_keys else {})})
    out = {"original_width": im.width, "original_height": im.height, "annotations": anns}
    if extra_keys:
        out["source_frame"] = im.frame_index
    return out


def write_release(ds: AvatarDataset, out: str | os.PathLike, *, frames_src: str | os.PathLike | None = None,
                  videos_src: str | os.PathLike | None = None, images: str = "beside",
                  extra_keys: bool = True, simplify: float = 0.0) -> ReleaseFixture:
    """Write ``ds`` in the release's layout under ``out``.

    Args:
        ds: the ground truth (its masks become polygons).
        out: output folder (``metadata/``, ``frames/`` and ``video/`` are made in it).
        frames_src: the frames root of ``ds`` (``Image.file_name`` is relative to it), copied as the images.
        videos_src: the folder of ``ds``'s videos, copied to ``video/<folder>.mp4``.
        images: "beside" or "parallel" (copies of ``frames_src``), "placeholder" (empty .jpg files beside,
            enough for the importer's presence check), "none".
        extra_keys: add keys the importer does not know (``source_frame``, ``instance_id``): it must keep them.
        simplify: polygon simplification in pixels (:func:`mask_to_polygons`; 0: exact outlines).
    """
    if images not in IMAGES or (images in ("beside", "parallel") and frames_src is None):
        raise ValueError(f"expected images in {IMAGES} (beside/parallel need frames_src), got {images!r}")
    root = Path(out)
    meta = root / "metadata"
    frames_root = {"beside": meta, "placeholder": meta, "parallel": root / "frames"}.get(images)
    fx = ReleaseFixture(root, meta, frames_root, root / "video" if videos_src else None)
    for video in ds.videos:
        folder = release_clip_name(*split_clip_name(video.name))
        (meta / folder).mkdir(parents=True, exist_ok=True)
        for im in ds.images_by_video.get(video.id, []):
            json_name = frame_file_name(folder, im.frame_index, "json", RELEASE_DIGITS)
            (meta / json_name).write_text(json.dumps(_frame_json(ds, im, extra_keys, simplify)), encoding="utf-8")
            fx.keys[im.id] = json_name[: -len(".json")]
            if frames_root is not None:
                target = frames_root / frame_file_name(folder, im.frame_index, "jpg", RELEASE_DIGITS)
                target.parent.mkdir(parents=True, exist_ok=True)
                if images == "placeholder":
                    target.touch()
                else:
                    shutil.copyfile(Path(frames_src) / im.file_name, target)
        if videos_src:
            fx.videos.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(videos_src) / (video.file_name or clip_file_name(video.name)),
                            fx.videos / clip_file_name(folder))
    return fx

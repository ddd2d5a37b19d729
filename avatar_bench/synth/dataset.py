"""Turn the per-video meta files into the dataset-level outputs: AVATAR-COCO splits and the VGGSound CSV.

Ids are functions of the clip index (video ``index + 1``, image ``video_id * 100 + k``, annotation
``image_id * 100 + j``), so they do not depend on the order clips were made in, or on a resume.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from avatar_bench.format import SCHEMA_VERSION, SPLITS, Annotation, AvatarDataset, Category, Image, Video
from avatar_bench.naming import clip_file_name, frame_file_name
from avatar_bench.synth.categories import BY_NAME, CATEGORIES


def coco_categories() -> list[Category]:
    """The AVATAR-Synth categories as AVATAR-COCO records."""
    return [Category(id=c.id, name=c.name, supercategory=c.supercategory, audio_labels=list(c.audio_labels),
                     detector_labels=list(c.detector_labels)) for c in CATEGORIES]


def _records(meta: dict[str, Any]) -> tuple[Video, list[Image], list[Annotation]]:
    vid = meta["synth"]["index"] + 1
    video = Video(id=vid, name=meta["name"], file_name=clip_file_name(meta["name"]), width=meta["width"],
                  height=meta["height"], fps=meta["fps"], duration_s=meta["duration_s"], source="synth",
                  source_label=meta["label"], split=meta["split"], extra={"synth_kind": meta["synth"]["kind"]})
    images, anns = [], []
    for k, frame in enumerate(meta["annotated_frames"]):
        image_id = vid * 100 + k
        images.append(Image(id=image_id, video_id=vid, file_name=frame_file_name(meta["name"], frame["frame_index"]),
                            width=meta["width"], height=meta["height"], frame_index=frame["frame_index"],
                            timestamp_s=frame["timestamp_s"], scenario=frame["scenario"],
                            sounding_category_ids=sorted(BY_NAME[c].id for c in frame["sounding_categories"])))
        for j, inst in enumerate(frame["instances"]):
            anns.append(Annotation(id=image_id * 100 + j, image_id=image_id, video_id=vid,
                                   track_id=inst["track_id"], category_id=BY_NAME[inst["category"]].id,
                                   segmentation=inst["segmentation"], bbox=inst["bbox"], area=float(inst["area"]),
                                   iscrowd=0, sounding=bool(inst["sounding"]), origin="human", score=1.0))
    return video, images, anns


def build_splits(metas: Iterable[dict[str, Any]], description: str) -> dict[str, AvatarDataset]:
    """One :class:`AvatarDataset` per split from the good clips' metas (bad clips are left out)."""
    out = {split: AvatarDataset(categories=coco_categories(),
                                info={"version": SCHEMA_VERSION, "description": description,
                                      "split": split, "source": "synth"})
           for split in SPLITS}
    for meta in sorted(metas, key=lambda m: m["synth"]["index"]):
        if meta["expected_rejection"] is not None:
            continue
        video, images, anns = _records(meta)
        ds = out[meta["split"]]
        ds.videos.append(video)
        ds.images += images
        ds.annotations += anns
    return out


def vggsound_csv(metas: Iterable[dict[str, Any]]) -> str:
    """VGGSound-style rows ``id,start_s,label,split`` (no header), labels quoted when they hold a comma."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for meta in sorted(metas, key=lambda m: m["synth"]["index"]):
        writer.writerow([meta["id"], meta["start_s"], meta["label"], meta["split"]])
    return buf.getvalue()

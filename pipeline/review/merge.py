"""Merge reviewed frames into AVATAR-COCO split files (``<dir>/{train,val,test}.json``), idempotently.

A frame is identified by its frame id (``naming.frame_id``: ``<video name>/<frame_index:06d>``; a key of any
zero-padding is accepted); merging it again replaces its image record and its
annotations (ids of videos and images are kept, so a re-pull does not renumber anything). Ids are unique across
the three split files. Reviewed annotations get ``origin: "human"`` and keep who/when in their extra fields:
``reviewed_by``, ``reviewed_at``, ``ls_task_id``, ``ls_annotation_id``, ``proposal_instance_id`` and
``proposal_changed`` (whether the annotator edited the proposed mask).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avatar_bench import naming
from avatar_bench import rle as coco_rle
from avatar_bench.format import SPLITS, Annotation, AvatarDataset, Category, Image, Video
from pipeline.review.convert import ReviewedFrame, ReviewedInstance

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VideoMeta:
    """What an AVATAR-COCO ``videos`` record needs beyond the frame: from the work folder's videos/probe tables."""

    file_name: str = ""
    width: int = 0
    height: int = 0
    fps: float = 0.0
    duration_s: float = 0.0
    source: str = ""


def _key(key: str) -> str:
    """A frame id in the one written form (``v/12`` and ``v/000012`` are one frame)."""
    return naming.frame_id(*naming.parse_frame_id(key))


class _Split:
    def __init__(self, path: Path):
        self.path = path
        self.ds = AvatarDataset.load(path) if path.exists() else AvatarDataset()
        self.videos: dict[str, Video] = {v.name: v for v in self.ds.videos}
        names = {v.id: v.name for v in self.ds.videos}
        self.images: dict[str, Image] = {naming.frame_id(names[im.video_id], im.frame_index): im
                                         for im in self.ds.images}
        self.anns: dict[int, list[Annotation]] = defaultdict(list)
        for a in self.ds.annotations:
            self.anns[a.image_id].append(a)
        self.changed = False


class SplitStore:
    """The split files of one directory, loaded once, changed in memory, saved (atomically) when changed."""

    def __init__(self, directory: str | Path, categories: list[Category]):
        self.dir = Path(directory)
        self.splits = {s: _Split(self.dir / f"{s}.json") for s in SPLITS}
        self.categories = self._merge_categories(categories)
        self.category_id = {c.name: c.id for c in self.categories}
        every = [sp.ds for sp in self.splits.values()]
        self._next = {kind: 1 + max((r.id for ds in every for r in getattr(ds, kind)), default=0)
                      for kind in ("videos", "images", "annotations")}

    def _merge_categories(self, categories: list[Category]) -> list[Category]:
        """Categories already in the files keep their ids; new names get the next free ids."""
        known: dict[str, Category] = {}
        for sp in self.splits.values():
            for c in sp.ds.categories:
                known.setdefault(c.name, c)
        next_id = 1 + max((c.id for c in known.values()), default=0)
        for c in categories:
            if c.name not in known:
                taken = {k.id for k in known.values()}
                known[c.name] = Category.from_dict({**c.to_dict(), "id": c.id if c.id not in taken else next_id})
                next_id = max(next_id, known[c.name].id) + 1
        names = set(known)
        for sp in self.splits.values():  # an existing file gains the new categories on the next save
            sp.changed = sp.changed or (sp.path.exists() and {c.name for c in sp.ds.categories} != names)
        return sorted(known.values(), key=lambda c: c.id)

    def _new_id(self, kind: str) -> int:
        self._next[kind] += 1
        return self._next[kind] - 1

    def find(self, key: str) -> tuple[str, Image] | None:
        key = _key(key)
        for name, sp in self.splits.items():
            if key in sp.images:
                return name, sp.images[key]
        return None

    def remove(self, key: str) -> bool:
        """Drop a frame (rejected after an earlier pull); its video goes too when it has no frame left."""
        key = _key(key)
        hit = self.find(key)
        if hit is None:
            return False
        sp = self.splits[hit[0]]
        image = sp.images.pop(key)
        sp.anns.pop(image.id, None)
        video_name = naming.parse_frame_id(key)[0]
        if not any(naming.parse_frame_id(k)[0] == video_name for k in sp.images):
            sp.videos.pop(video_name, None)
        sp.changed = True
        return True

    def upsert(self, frame: ReviewedFrame, video: VideoMeta | None = None) -> None:
        """Add or replace one reviewed frame (status ok) with its human annotations.

        Args:
            frame: the converted annotation.
            video: the video's metadata (from the work folder); the frame's size when unknown.
        """
        d = frame.data
        split = d.get("split") if d.get("split") in SPLITS else "test"
        key = naming.frame_id(d["video_id"], int(d["frame_index"]))
        previous = self.find(key)
        if previous and previous[0] != split:  # the clip moved to another split
            self.remove(key)
            previous = None
        sp = self.splits[split]
        video = sp.videos.get(d["video_id"]) or self._new_video(d, split, video or VideoMeta())
        sp.videos[video.name] = video
        image = self._image(d, frame, video.id, previous[1].id if previous else self._new_id("images"))
        sp.images[key] = image
        reuse = [a.id for a in sp.anns.get(image.id, [])]  # a re-merge keeps annotation ids (byte-identical file)
        sp.anns[image.id] = [self._annotation(frame, inst, image, reuse[k] if k < len(reuse) else None)
                             for k, inst in enumerate(frame.instances)]
        sp.changed = True

    def _new_video(self, d: dict[str, Any], split: str, meta: VideoMeta) -> Video:
        return Video(id=self._new_id("videos"), name=str(d["video_id"]), file_name=meta.file_name,
                     width=int(meta.width or d["width"]), height=int(meta.height or d["height"]), fps=meta.fps,
                     duration_s=meta.duration_s, source=meta.source, source_label=str(d.get("label") or ""),
                     split=split)

    def _image(self, d: dict[str, Any], frame: ReviewedFrame, video_id: int, image_id: int) -> Image:
        review = {"task": frame.task_id, "annotation": frame.annotation_id, "by": frame.annotator,
                  "at": frame.updated_at, "lead_time_s": frame.lead_time_s,
                  "proposed_scenario": d.get("proposed_scenario")}
        return Image(id=image_id, video_id=video_id, file_name=naming.frame_file_name(d["video_id"], d["frame_index"]),
                     width=int(d["width"]), height=int(d["height"]), frame_index=int(d["frame_index"]),
                     timestamp_s=float(d.get("timestamp_s") or 0.0), scenario=frame.scenario,
                     sounding_category_ids=sorted(self.category_id[h] for h in frame.heard),
                     extra={"frame_id": frame.frame_id, "review": review})

    def _annotation(self, frame: ReviewedFrame, inst: ReviewedInstance, image: Image, ann_id: int | None) -> Annotation:
        track = (inst.proposal or {}).get("track_id")
        return Annotation(
            id=ann_id if ann_id is not None else self._new_id("annotations"), image_id=image.id,
            video_id=image.video_id,
            track_id=track if isinstance(track, int) else -1, category_id=self.category_id[inst.category],
            segmentation=inst.segmentation, bbox=coco_rle.bbox(inst.segmentation),
            area=float(coco_rle.area(inst.segmentation)), iscrowd=0, sounding=bool(inst.sounding), origin="human",
            score=1.0,
            extra={"reviewed_by": frame.annotator, "reviewed_at": frame.updated_at, "ls_task_id": frame.task_id,
                   "ls_annotation_id": frame.annotation_id,
                   "proposal_instance_id": (inst.proposal or {}).get("instance_id"),
                   "proposal_changed": inst.changed})

    def save(self) -> list[Path]:
        """Write the changed split files atomically; return their paths."""
        written = []
        for name, sp in self.splits.items():
            if not sp.changed:
                continue
            ds = sp.ds
            ds.categories = list(self.categories)
            ds.videos = sorted(sp.videos.values(), key=lambda v: v.id)
            ds.images = sorted(sp.images.values(), key=lambda im: im.id)
            ds.annotations = sorted((a for anns in sp.anns.values() for a in anns), key=lambda a: a.id)
            ds.info = {**ds.info, "description": f"AVATAR {name} split (reviewed in Label Studio)"}
            ds.invalidate_indexes()
            ds.validate(source=str(sp.path))
            ds.save(sp.path)
            sp.changed = False
            written.append(sp.path)
        return written

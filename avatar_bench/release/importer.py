"""``import_release``: the released AVATAR metadata folder -> an AVATAR-COCO :class:`AvatarDataset`.

Ids follow the sorted folder and frame names (video ``k`` = the k-th folder, images and annotations numbered in
that order from 1), so the same release always gives the same file. Categories are the labels
(``audio_visual_category``) in sorted order; an image's ``sounding_category_ids`` are the labels of all its
annotations (an ``Off-Screen`` annotation names the category heard); every mask is a sounding instance, and the
file says so: ``info.silent_instances_annotated = false``. Video fps, duration and size, and frame timestamps,
come from the mp4s when ``videos`` is given; without them fps and duration are 0 (unknown) and ``timestamp_s``
is null.
"""

from __future__ import annotations

import gc
import logging
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pycocotools import mask as mask_utils

from avatar_bench import __version__
from avatar_bench.errors import ReleaseError
from avatar_bench.format import SCHEMA_VERSION, SILENT_INSTANCES_KEY, Annotation, AvatarDataset, Category, Image, Video
from avatar_bench.naming import RELEASE_DIGITS, clip_file_name, frame_file_name, split_clip_name
from avatar_bench.release.fastread import read_bytes
from avatar_bench.release.frames import ParsedFrame, parse_frame
from avatar_bench.release.layout import Folder, Layout, scan
from avatar_bench.release.problems import Problem, counts
from avatar_bench.release.tasks import TaskTable
from avatar_bench.release.videos import VideoInfo, probe_all, videos_folder

log = logging.getLogger(__name__)

IMPORT_VERSION = 1  # bump when the same release would import differently: cached imports are keyed by it
SOURCE = "avatar-release"


@dataclass
class ImportResult:
    """The imported dataset, every warning, and how the release was read."""

    dataset: AvatarDataset
    warnings: list[Problem]
    layout: Layout
    videos: dict[str, VideoInfo] | None = None  # None: not probed
    frame_check: dict[str, Any] = field(default_factory=dict)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many small acyclic records are built (reference counting still
    frees them), then hand what survived to the collector's oldest generation.

    Measured on 24,266 frames: the collector's passes over the growing heap were 25% of the import's CPU time;
    paused, its first young-generation pass after the pause still walked every record once (0.2 s of 1.7 s).
    ``gc.freeze()`` + ``gc.unfreeze()`` move the survivors to the oldest generation, where long-lived records end
    up anyway: they are walked at the next full collection, as they would be without the pause.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


def read_all(layout: Layout) -> list[bytes]:
    """The bytes of every frame JSON, in :meth:`Layout.json_paths` order."""
    return [read_bytes(path) for _, _, path in layout.json_paths()]


def _parse_all(paths: list, blobs: Sequence[bytes] | None, tasks: TaskTable, progress: bool) -> list:
    """``(frame or None, problems)`` per frame JSON, in order, in this process.

    Not in worker processes: measured on 24,266 frames, two processes spent 40% more CPU time than one (the
    results must be pickled back) for no gain in wall-clock time, since listing the folders and building the
    records, which stay in one process, cost as much as the parsing.
    """
    rels = [f"{folder.name}/{folder.jsons[index]}" for folder, index, _ in paths]
    datas = blobs if blobs is not None else (read_bytes(p) for _, _, p in paths)
    return [parse_frame(data, rel, tasks) for data, rel in zip(datas, _bar(rels, progress), strict=True)]


def import_release(metadata_dir: str | os.PathLike, *, videos: str | os.PathLike | None = None,
                   frames: str | os.PathLike | None = None, task_map: Mapping[str, str] | None = None,
                   layout: Layout | None = None, blobs: Sequence[bytes] | None = None,
                   progress: bool = False) -> ImportResult:
    """Import the release folder ``metadata_dir``.

    Args:
        metadata_dir: the release's ``metadata`` folder (``<youtube_id>_<start:05d>/<frame:05d>.json``).
        videos: the folder of ``<youtube_id>_<start:05d>.mp4`` (needs PyAV) for fps, duration and timestamps.
        frames: the root of a parallel tree of frame images (default: beside the JSONs, else ``../frames``).
        task_map: normalised task string -> scenario (:func:`avatar_bench.release.tasks.parse_task_map`).
        layout, blobs: an already scanned layout and its frame JSONs' bytes (the cached loader reads them once).
        progress: show a progress bar over the frames.

    Raises:
        ReleaseError: every error found (malformed JSON, missing ``original_*``, unknown tasks, ...).
    """
    with gc_paused():
        return _import(metadata_dir, videos, frames, task_map, layout, blobs, progress)


def _import(metadata_dir, videos, frames, task_map, layout, blobs, progress) -> ImportResult:
    if videos:
        videos_folder(videos)  # before any parsing: PyAV missing or no such folder fails at once
    layout = layout or scan(metadata_dir, frames)
    paths = layout.json_paths()
    tasks = TaskTable(task_map)
    problems = list(layout.problems)
    parsed: list[tuple[Folder, int, ParsedFrame]] = []
    for (folder, index, _), (frame, found) in zip(paths, _parse_all(paths, blobs, tasks, progress),
                                                  strict=True):
        problems += found
        if frame is not None:
            parsed.append((folder, index, frame))
    errors = [p for p in problems if p.is_error]
    if errors:
        raise _error(layout.root, errors)
    infos, video_problems = probe_all(videos, [f.name for f in layout.folders]) if videos else (None, [])
    warnings = problems + video_problems + _image_problems(layout, parsed)
    ds, frame_check, more = build_dataset(parsed, layout, infos)
    warnings += more
    ds.info["import"] = _import_info(layout, infos, tasks, warnings, frame_check)
    return ImportResult(ds, warnings, layout, infos, frame_check)


def _bar(items, enabled: bool):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, unit="frame", desc="import-release", disable=None)


def _error(root: Path, errors: list[Problem]) -> ReleaseError:
    lines, unknown = [], [p for p in errors if p.code == "unknown_task"]
    for task, n in Counter(p.value for p in unknown).most_common():
        first = next(p.path for p in unknown if p.value == task)
        lines.append(f"unknown task {task!r} in {n} frame(s), e.g. {first}: map it with --task-map '{task}=SCENARIO' "
                     "(single, mixed, multi_entity or off_screen)")
    lines += [f"{p} [{p.code}]" for p in errors if p.code != "unknown_task"]
    return ReleaseError(f"{root}: {len(errors)} error(s) in the release; nothing was written", lines)


def _image_problems(layout: Layout, parsed: list[tuple[Folder, int, ParsedFrame]]) -> list[Problem]:
    if layout.frames_root is None:
        return [Problem("no_images", ".", "no frame image beside the JSONs nor in a parallel frames/ tree: "
                        "Image.file_name is <folder>/<frame>.jpg under a frames root you supply")]
    return [Problem("missing_image", f"{folder.name}/{folder.jsons[index]}",
                    f"no image for frame {index} in {layout.frames_root / folder.name}")
            for folder, index, _ in parsed if index not in folder.images]


def build_dataset(parsed: list[tuple[Folder, int, ParsedFrame]], layout: Layout,
                  infos: dict[str, VideoInfo] | None) -> tuple[AvatarDataset, dict[str, Any], list[Problem]]:
    """Records from the parsed frames: the dataset, the frame-number check and its warnings."""
    labels = sorted({label for _, _, f in parsed for label in f.heard})
    cat_id = {label: i for i, label in enumerate(labels, start=1)}  # in label order: sorted labels, sorted ids
    ds = AvatarDataset(categories=[Category(id=i, name=label) for label, i in cat_id.items()], info={
        "version": SCHEMA_VERSION, "description": "the released AVATAR benchmark, imported by avatar-data",
        "source": SOURCE, "split": "test", SILENT_INSTANCES_KEY: False})
    by_folder: dict[str, list[tuple[int, ParsedFrame]]] = {}
    for folder, index, frame in parsed:
        by_folder.setdefault(folder.name, []).append((index, frame))
    warnings: list[Problem] = []
    for vid, folder in enumerate(layout.folders, start=1):
        frames = by_folder.get(folder.name, [])
        info = infos.get(folder.name) if infos is not None else None
        ds.videos.append(_video(vid, folder.name, frames, info, warnings))
        for index, frame in frames:
            _add_frame(ds, vid, folder, index, frame, info, cat_id, warnings)
    _areas_and_boxes(ds.annotations)
    return ds, _frame_check(ds, infos, warnings), warnings


def _areas_and_boxes(annotations: list[Annotation], chunk: int = 255) -> None:
    """Fill ``area`` and ``bbox`` from the masks, many per pycocotools call (its per-call cost is most of a call's;
    chunks of 255: pycocotools 2.0.11's ``area`` overflows a uint8 beyond that under numpy 2)."""
    for i in range(0, len(annotations), chunk):
        part = annotations[i:i + chunk]
        rles = [a.segmentation for a in part]  # JSON RLEs: pycocotools encodes text counts itself
        for a, area, box in zip(part, mask_utils.area(rles).tolist(), mask_utils.toBbox(rles).tolist(), strict=True):
            a.area, a.bbox = float(area), box


def _add_frame(ds: AvatarDataset, vid: int, folder: Folder, index: int, frame: ParsedFrame, info: VideoInfo | None,
               cat_id: dict[str, int], warnings: list[Problem]) -> None:
    image_id = len(ds.images) + 1
    stamp = None
    if info is not None and index < info.n_frames:
        stamp = round(index / info.fps, 6)
    elif info is not None:
        warnings.append(Problem("frame_beyond_video", f"{folder.name}/{folder.jsons[index]}",
                                f"frame {index} is past the video's {info.n_frames} frames: timestamp unset"))
    image = folder.images.get(index)
    file_name = f"{folder.name}/{image}" if image else frame_file_name(folder.name, index, "jpg", RELEASE_DIGITS)
    extra = {"release_task": frame.task}
    if frame.extra:
        extra["release_fields"] = frame.extra
    ds.images.append(Image(id=image_id, video_id=vid, file_name=file_name, width=frame.width, height=frame.height,
                           frame_index=index, timestamp_s=stamp, scenario=frame.scenario,
                           sounding_category_ids=[cat_id[c] for c in frame.heard], extra=extra))
    for a in frame.annotations:
        ds.annotations.append(Annotation(
            id=len(ds.annotations) + 1, image_id=image_id, video_id=vid, category_id=cat_id[a.category],
            segmentation=a.rle, sounding=True, origin="human", score=1.0,
            extra={"release_fields": a.extra} if a.extra else {}))


def _frame_check(ds: AvatarDataset, infos: dict[str, VideoInfo] | None, warnings: list[Problem]) -> dict[str, Any]:
    """How the frame numbers fit the hypothesis "frame index at the video's native fps" (empty without videos)."""
    if infos is None:
        return {}
    ratios = [im.frame_index / infos[v.name].n_frames for v in ds.videos if v.name in infos
              for im in ds.images_by_video.get(v.id, [])]
    return {"videos_probed": len(infos), "frames_checked": len(ratios),
            "frames_beyond_video": sum(p.code == "frame_beyond_video" for p in warnings),
            "max_frame_over_frame_count": round(max(ratios), 4) if ratios else None}


def _video(vid: int, name: str, frames: list[tuple[int, ParsedFrame]], info: VideoInfo | None,
           warnings: list[Problem]) -> Video:
    sizes: dict[tuple[int, int], int] = {}  # (a Counter costs ~60 us here, per video)
    for _, f in frames:
        sizes[f.width, f.height] = sizes.get((f.width, f.height), 0) + 1
    width, height = max(sizes, key=sizes.__getitem__) if sizes else (0, 0)
    if len(sizes) > 1:
        warnings.append(Problem("size_mismatch", f"{name}/", f"frames of several sizes {sorted(sizes)}"))
    if info is not None and sizes and (info.width, info.height) != (width, height):
        warnings.append(Problem("size_mismatch", f"{name}/", f"frames are {width}x{height}, the video is "
                                f"{info.width}x{info.height} (masks stay in the frames' original pixels)"))
    youtube_id, start = split_clip_name(name)
    return Video(id=vid, name=name, file_name=clip_file_name(name), width=info.width if info else width,
                 height=info.height if info else height, fps=info.fps if info else 0.0,
                 duration_s=round(info.duration_s, 6) if info else 0.0, source=SOURCE, split="test",
                 extra={"youtube_id": youtube_id, "start_s": start})


def _import_info(layout: Layout, infos: dict | None, tasks: TaskTable, warnings: list[Problem],
                 frame_check: dict) -> dict[str, Any]:
    images = "beside the JSONs" if layout.images_beside else ("parallel tree" if layout.frames_root else "none found")
    return {"tool": "avatar-data import-release", "importer_version": IMPORT_VERSION, "toolkit_version": __version__,
            "images": images, "videos_probed": infos is not None,
            "timestamps": "frame / fps of the video" if infos is not None else "unset: imported without --videos",
            "task_map": dict(tasks.mapped), "frame_check": frame_check, "warnings": counts(warnings)}

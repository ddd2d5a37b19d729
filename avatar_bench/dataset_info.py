"""What an AVATAR-COCO dataset holds (``avatar-data info``, and the table ``avatar-data import-release`` prints).

:func:`summarize` counts frames, videos, categories, annotations, frames per scenario and cross-event videos.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from avatar_bench.format import SCENARIOS, AvatarDataset


def summarize(ds: AvatarDataset) -> dict[str, Any]:
    """Counts of ``ds`` (plain values: a table or JSON)."""
    scenarios = Counter(im.scenario for im in ds.images)
    stamps = sum(im.timestamp_s is None for im in ds.images)
    return {
        "source": ds.info.get("source", ""), "silent_instances_annotated": ds.silent_instances_annotated,
        "videos": len(ds.videos), "frames": len(ds.images), "categories": len(ds.categories),
        "annotations": len(ds.annotations), "sounding_annotations": sum(a.sounding for a in ds.annotations),
        "frames_per_scenario": {s: scenarios.get(s, 0) for s in SCENARIOS},
        "cross_event_videos": len(ds.cross_event_video_ids()),
        "frames_without_timestamp": stamps, "videos_without_fps": sum(not v.fps for v in ds.videos),
    }


def format_summary(summary: dict[str, Any], title: str = "") -> str:
    """The summary as an aligned text table."""
    rows = [("source", summary["source"] or "-"),
            ("silent instances", "annotated" if summary["silent_instances_annotated"] else
             "not annotated (sounding objects only: look-alike counts not checked)"),
            ("videos", f"{summary['videos']:,}"), ("frames", f"{summary['frames']:,}"),
            ("categories", f"{summary['categories']:,}"),
            ("annotations", f"{summary['annotations']:,} ({summary['sounding_annotations']:,} sounding)")]
    rows.append(("frames per scenario", ""))
    rows += [(f"  {s}", f"{n:,}") for s, n in summary["frames_per_scenario"].items()]
    rows.append(("cross-event videos", f"{summary['cross_event_videos']:,}"))
    if summary["frames_without_timestamp"]:
        rows.append(("timestamps", f"unset for {summary['frames_without_timestamp']:,} frame(s)"))
    if summary["videos_without_fps"]:
        rows.append(("video fps", f"unknown for {summary['videos_without_fps']:,} video(s)"))
    width = max(len(k) for k, _ in rows)
    lines = [title] if title else []
    lines += [f"{k:<{width}}  {v}".rstrip() for k, v in rows]
    return "\n".join(lines)

"""Build a contract-3 ``frames.parquet`` (and its JPEGs) from real videos, for the propose-stage tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

FRAME_COLUMNS = ["frame_id", "video_id", "video_path", "frame_index", "timestamp_s", "image_path", "width", "height",
                 "sharpness", "label", "split", "status", "reason"]


def grab_frames(video: Path, times_s: Iterable[float]) -> list[tuple[int, float, np.ndarray]]:
    """(frame_index, timestamp_s, BGR image) of the first decoded frame at or after each time."""
    import av

    wanted = sorted(times_s)
    out = []
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            t = float(frame.pts * stream.time_base) if frame.pts is not None else index / float(stream.average_rate)
            while wanted and t >= wanted[0] - 1e-6:
                wanted.pop(0)
                out.append((index, t, frame.to_ndarray(format="bgr24")))
            if not wanted:
                break
    return out


def write_frames_manifest(work: Path, clips: dict[Path, Iterable[float]], label: str = "test") -> Path:
    """Write ``<work>/frames/<video_id>/<index>.jpg`` and ``<work>/manifests/frames.parquet``; return the table."""
    import cv2
    import pandas as pd

    rows = []
    for video, times in clips.items():
        video_id = Path(video).stem
        for index, t, img in grab_frames(Path(video), times):
            path = work / "frames" / video_id / f"{index:06d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), img)
            rows.append({"frame_id": f"{video_id}/{index:06d}", "video_id": video_id,
                         "video_path": str(Path(video).resolve()), "frame_index": index, "timestamp_s": t,
                         "image_path": str(path.resolve()), "width": img.shape[1], "height": img.shape[0],
                         "sharpness": float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()),
                         "label": label, "split": "test", "status": "ok", "reason": None})
    table = work / "manifests" / "frames.parquet"
    table.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=FRAME_COLUMNS).to_parquet(table, index=False)
    return table

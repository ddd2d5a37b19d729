"""AVATAR-Synth output as a source: its ``vggsound.csv`` rows and ``videos/<id>_<start>.mp4``.

Nothing is downloaded: each CSV row points at its clip in ``videos/``. A row whose clip is missing is
rejected as ``missing_file``; malformed rows and repeated ids are rejected as in the VGGSound reader.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from avatar_bench import naming
from pipeline.errors import PipelineError
from pipeline.records import VideoRecord
from pipeline.sources.vggsound import read_vggsound_csv


def prepare_synth(root: str | os.PathLike) -> Iterator[VideoRecord]:
    """One record per row of ``<root>/vggsound.csv``, with ``path`` = ``<root>/videos/<video_id>.mp4``.

    Raises:
        PipelineError: when ``root`` is not an AVATAR-Synth output folder.
    """
    root = Path(root).resolve()
    csv_path = root / "vggsound.csv"
    if not csv_path.is_file():
        raise PipelineError(f"synth source {root}: expected an AVATAR-Synth folder with vggsound.csv, found none")
    for record in read_vggsound_csv(csv_path):
        record.source = "synth"
        if record.ok:
            path = root / "videos" / naming.clip_file_name(record.video_id)
            record.path = str(path)
            if not path.is_file():
                record.reject("missing_file", f"video {record.video_id}: expected {path}, found none")
        yield record

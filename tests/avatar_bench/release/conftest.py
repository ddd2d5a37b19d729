"""Fixtures of the release tests: a small AVATAR-Synth test split, written in the release's layout, and
helpers to hand-build frame JSONs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avatar_bench.format import AvatarDataset
from avatar_bench.synth import generate
from avatar_bench.testing.release_fixture import write_release


@pytest.fixture(autouse=True)
def _own_avatar_home(tmp_path, monkeypatch):
    """Every test gets its own AVATAR_HOME: no test sees another's import cache or writes to $HOME."""
    monkeypatch.setenv("AVATAR_HOME", str(tmp_path / "avatar_home"))


@pytest.fixture(scope="session")
def synth5(tmp_path_factory) -> Path:
    """Five 4-second 320x180 AVATAR-Synth test clips (every scenario, one cross-event clip), ~4 s to make."""
    out = tmp_path_factory.mktemp("synth5")
    generate(out, preset="tiny", seed=0, workers=2, progress=False, n_train=0, n_val=0, n_bad=0, duration_s=4,
             width=320, height=180)
    return out


@pytest.fixture(scope="session")
def synth5_gt(synth5) -> AvatarDataset:
    return AvatarDataset.load(synth5 / "annotations" / "test.json")


@pytest.fixture(scope="session")
def release5(synth5, synth5_gt, tmp_path_factory):
    """The synth split in the release layout: jpgs beside the JSONs, mp4s in video/."""
    return write_release(synth5_gt, tmp_path_factory.mktemp("release5"), frames_src=synth5 / "frames",
                         videos_src=synth5 / "videos")


def frame(task: str = "Single-sound", polygons=None, category: str = "dog", width: int = 64, height: int = 48,
          **more) -> dict:
    """A frame JSON with one annotation (``polygons`` None: no segmentation key)."""
    ann = {"audio_visual_category": category, "task": task, "bbox": [0, 0, 1, 1]}
    if polygons is not None:
        ann["segmentation"] = polygons
    return {"original_width": width, "original_height": height, "annotations": [ann], **more}


SQUARE = [[9.5, 4.5, 19.5, 4.5, 19.5, 14.5, 9.5, 14.5]]  # pixel edges of x 10..19, y 5..14: exactly 100 pixels


def write_frames(root: Path, frames: dict[str, dict | str | bytes], images: bool = True) -> Path:
    """Write ``{"<folder>/<frame>": json object (or raw text/bytes)}`` under ``root`` (+ an empty jpg beside)."""
    for key, content in frames.items():
        path = root / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
        if images:
            path.with_suffix(".jpg").touch()
    return root

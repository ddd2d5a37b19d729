"""Session-wide test settings: offline, project-local caches, and the path to ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AVATAR_SHARED", REPO.parent / "shared"))

# Offline by default (DEVELOPERS.md, non-negotiable 6), and the libraries' caches in the checkout, not $HOME (left
# in $HOME, measured with a fresh one: chromium's crash-report folder, onnxruntime's device id and Label Studio's
# user id, which those programs write wherever they run).
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", str(REPO / ".cache" / "ultralytics"))
os.environ.setdefault("MPLCONFIGDIR", str(REPO / ".cache" / "matplotlib"))
os.environ.setdefault("PREFECT_HOME", str(REPO / ".cache" / "prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def shared_path(*parts: str) -> Path:
    """Path of a file in ../shared, or skip the test with a reason when it is absent (a user's clone)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the real media/models of ../shared; present in CI, absent in a user's clone)")
    return path


@pytest.fixture
def shared_media():
    return lambda name: shared_path("media", name)


@pytest.fixture
def shared_model():
    return lambda name: shared_path("models", name)

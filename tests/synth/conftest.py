"""One tiny AVATAR-Synth dataset per test session, shared by the synth tests (it takes seconds to make)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avatar_bench.synth import generate


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> tuple[Path, dict]:
    """(output folder, summary) of ``generate(preset="tiny", seed=0, workers=2)``."""
    out = tmp_path_factory.mktemp("synth") / "tiny"
    summary = generate(out, preset="tiny", seed=0, workers=2, progress=False)
    return out, summary


@pytest.fixture(scope="session")
def tiny_metas(tiny) -> dict[str, dict]:
    out, _ = tiny
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "meta").glob("*.json"))}

"""AVATAR-Synth clips → the real prepare stage → propose."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from avatar_bench import rle
from pipeline.proposals.config import ProposeConfig
from pipeline.proposals.propose import propose

from .conftest import TINY_CAVMAE


@pytest.fixture(scope="module")
def synth_work(tmp_path_factory):
    synth = pytest.importorskip("avatar_bench.synth", reason="needs the AVATAR-Synth generator")
    from pipeline.prepare import PrepareConfig, prepare
    from pipeline.probe import ProbeConfig

    root = tmp_path_factory.mktemp("synth")
    synth.generate(root / "synth", preset="tiny", seed=3, workers=1, progress=False, n_train=2, n_val=1, n_test=0,
                   n_bad=0, duration_s=4.0)
    prepare(f"synth:{root / 'synth'}", root / "work", PrepareConfig(probe=ProbeConfig(min_duration_s=3.0)))
    return root / "work"


@pytest.mark.slow
def test_propose_on_prepared_synth_frames(synth_work, tiny_cavmae_checkpoint):
    frames = pd.read_parquet(synth_work / "manifests" / "frames.parquet")
    ok = frames[frames["status"] == "ok"]
    assert len(ok) >= 3
    cfg = ProposeConfig.from_dict({
        "detector_options": {"model": "yolov8n.yaml", "class_names": "coco", "conf": 0.0, "max_det": 2},
        "tagger_options": {"checkpoint": str(tiny_cavmae_checkpoint), "config": TINY_CAVMAE},
        "segmenter_options": {"random_variant": "tiny"}, "device": "cpu", "batch_size": 4,
        "rules": {"det_min": 0.0, "det_threshold": 0.0, "tag_threshold": 0.0}})
    summary = propose(synth_work, cfg)
    assert summary.processed == len(ok) and summary.n_rejected == 0
    props = pd.read_parquet(synth_work / "manifests" / "proposals.parquet").set_index("frame_id")
    assert set(props.index) == set(ok["frame_id"])
    for frame in ok.to_dict("records"):
        row = props.loc[frame["frame_id"]]
        assert (row["width"], row["height"], row["timestamp_s"]) == (frame["width"], frame["height"],
                                                                     frame["timestamp_s"])
        assert row["scenario"] in ("single", "mixed", "multi_entity", "off_screen")
        for inst in json.loads(row["instances"]):
            assert rle.decode(inst["rle"]).shape == (frame["height"], frame["width"])
    again = propose(synth_work, cfg)  # a rerun with the same settings skips everything
    assert again.processed == 0 and again.skipped == len(ok)
    other = propose(synth_work, ProposeConfig.no_weights())  # other backends: every frame is stale, so redone
    assert other.processed == other.counts["stale_redone"] == len(ok)
    props = pd.read_parquet(synth_work / "manifests" / "proposals.parquet")
    assert set(props["model_version"]) == {"none:default|none:default|none:default|rules:tag0.1-det0.35"}

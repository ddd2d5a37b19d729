"""The propose stage end to end: frames.parquet → proposals.parquet."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from avatar_bench import rle
from pipeline.cli import main
from pipeline.errors import PipelineError
from pipeline.proposals.config import ProposeConfig
from pipeline.proposals.propose import propose

from .conftest import TINY_CAVMAE
from .frames_fixture import FRAME_COLUMNS, write_frames_manifest

# the joint with review push; ``settings`` (what made each proposal, issue 13 item 4) was added deliberately
CONTRACT4 = ["frame_id", "video_id", "image_path", "width", "height", "frame_index", "timestamp_s", "label", "split",
             "scenario", "scenario_score", "flagged", "flag_reasons", "audio_tags", "heard_categories", "instances",
             "model_version", "settings", "status", "reason"]


def _read(work) -> dict[str, dict]:
    df = pd.read_parquet(work / "manifests" / "proposals.parquet")
    assert sorted(df.columns) == sorted(CONTRACT4)
    return {r["frame_id"]: r for r in df.to_dict("records")}


def _synthetic_frames(work, n: int = 3):
    """JPEGs and a frames.parquet whose video has no file (enough for the no-weights mode)."""
    import cv2

    rows = []
    for i in range(n):
        img = np.full((90, 160, 3), 40 * i, np.uint8)
        path = work / "frames" / "vid" / f"{i:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), img)
        rows.append({"frame_id": f"vid/{i:06d}", "video_id": "vid", "video_path": str(work / "vid.mp4"),
                     "frame_index": i, "timestamp_s": i / 25, "image_path": str(path), "width": 160, "height": 90,
                     "sharpness": 1.0, "label": "x", "split": "train", "status": "ok", "reason": None})
    (work / "manifests").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=FRAME_COLUMNS).to_parquet(work / "manifests" / "frames.parquet")
    return rows


def test_real_small_models_on_real_clips(tmp_path, shared_media, shared_model):
    write_frames_manifest(tmp_path, {shared_media("three_women_one_talks.mp4"): [3.0],
                                     shared_media("silent_film_offscreen_piano.mp4"): [2.5],
                                     shared_media("airplane_flyover_then_silence.mp4"): [8.0]})
    summary = propose(tmp_path, ProposeConfig.cpu_demo(str(shared_model("yamnet.tflite").parent)))
    assert summary.processed == 3 and summary.n_rejected == 0
    rows = _read(tmp_path)
    women = next(r for k, r in rows.items() if k.startswith("three_women"))
    assert women["scenario"] in ("single", "multi_entity") and json.loads(women["heard_categories"]) == ["person"]
    assert any(i["category"] == "person" and i["sounding"] for i in json.loads(women["instances"]))
    piano = next(r for k, r in rows.items() if k.startswith("silent_film"))
    assert piano["scenario"] == "off_screen" and "piano" in json.loads(piano["heard_categories"])
    piano_insts = json.loads(piano["instances"])
    assert all(not i["sounding"] for i in piano_insts)
    # the CPU demo segments with GrabCut (no weights); on this black-and-white film it finds no colour model for
    # the men (the review then sends their boxes); masks it does find have the frame's size
    for row in rows.values():
        assert "grabcut:opencv" in row["model_version"]
        for inst in json.loads(row["instances"]):
            assert inst["rle"] is None or rle.decode(inst["rle"]).shape == (row["height"], row["width"])
    silent = next(r for k, r in rows.items() if k.startswith("airplane"))  # 8 s: after the engine stops
    assert pd.isna(silent["scenario"]) and silent["flagged"]
    assert json.loads(silent["audio_tags"])[0]["label"] == "Silence"


def test_random_real_architectures_with_masks_and_resume(tmp_path, shared_media, tiny_cavmae_checkpoint):
    video = shared_media("three_women_one_talks.mp4")
    write_frames_manifest(tmp_path, {video: [1.0, 2.0]})
    cfg = ProposeConfig.from_dict({
        "detector_options": {"model": "yolov8n.yaml", "class_names": "coco", "conf": 0.0, "max_det": 3},
        "tagger_options": {"checkpoint": str(tiny_cavmae_checkpoint), "config": TINY_CAVMAE, "window_s": 1.0},
        "segmenter_options": {"random_variant": "tiny"}, "device": "cpu", "batch_size": 2, "min_tag_score": 0.0,
        "rules": {"det_min": 0.0, "det_threshold": 0.0, "tag_threshold": 0.0}})
    assert propose(tmp_path, cfg).processed == 2
    for row in _read(tmp_path).values():
        assert row["status"] == "ok" and row["scenario"] in ("single", "mixed", "multi_entity", "off_screen")
        insts = json.loads(row["instances"])
        assert len(json.loads(row["audio_tags"])) == 5 and row["model_version"].startswith("yolo:yolov8n.yaml|")
        for inst in insts:
            assert rle.decode(inst["rle"]).shape == (row["height"], row["width"])
    write_frames_manifest(tmp_path, {video: [1.0, 2.0, 4.0]})  # one more frame arrives: only it is processed
    summary = propose(tmp_path, cfg)
    assert (summary.skipped, summary.processed) == (2, 1) and len(_read(tmp_path)) == 3
    assert propose(tmp_path, cfg).processed == 0


def test_unreadable_frame_is_rejected_and_the_batch_goes_on(tmp_path):
    rows = _synthetic_frames(tmp_path)
    with open(rows[1]["image_path"], "wb") as fh:
        fh.write(b"\xff\xd8 truncated jpeg")
    summary = propose(tmp_path, ProposeConfig.no_weights())
    assert summary.rejected == {"unreadable_frame": 1} and summary.processed == 3
    got = _read(tmp_path)
    assert got["vid/000001"]["status"] == "rejected" and summary.breakdown["scenario"] == {"none": 2}
    assert got["vid/000000"]["status"] == "ok" and got["vid/000002"]["status"] == "ok"


def test_no_weights_mode_from_the_cli(tmp_path, capsys):
    _synthetic_frames(tmp_path)
    assert main(["propose", "--work-dir", str(tmp_path), "--no-weights", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["processed"] == 3
    for row in _read(tmp_path).values():
        assert pd.isna(row["scenario"]) and row["flagged"] and json.loads(row["instances"]) == []
        assert json.loads(row["flag_reasons"])[0].startswith("no_audio_tagger")


def test_no_audio_stream_is_flagged(tmp_path, shared_media, shared_model):
    write_frames_manifest(tmp_path, {shared_media("no_audio_stream.mp4"): [1.0]})
    cfg = ProposeConfig.cpu_demo(str(shared_model("yamnet.tflite").parent))
    propose(tmp_path, cfg)
    (row,) = _read(tmp_path).values()
    assert row["status"] == "ok" and json.loads(row["flag_reasons"])[0].startswith("no_audio_stream")


def test_bad_inputs(tmp_path):
    with pytest.raises(PipelineError, match="frames.parquet: not found"):
        propose(tmp_path, ProposeConfig.no_weights())
    with pytest.raises(PipelineError, match="unknown key"):
        ProposeConfig.from_dict({"detectr": "yolo"})
    with pytest.raises(PipelineError, match="section 'rules': unknown key"):
        ProposeConfig.from_dict({"rules": {"tag": 1}})
    with pytest.raises(PipelineError, match="setting batch_size: expected int, got '16'"):  # before any model loads
        ProposeConfig.from_dict({"batch_size": "16"})
    with pytest.raises(PipelineError, match="setting batch_size: expected int, got '16'"):
        ProposeConfig(batch_size="16")  # the Python API checks the same
    (tmp_path / "manifests").mkdir()
    pd.DataFrame({"frame_id": ["a"]}).to_parquet(tmp_path / "manifests" / "frames.parquet")
    with pytest.raises(PipelineError, match="frames manifest .*: expected columns"):
        propose(tmp_path, ProposeConfig.no_weights())
    assert main(["propose", "--work-dir", str(tmp_path), "--no-weights"]) == 2

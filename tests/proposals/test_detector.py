"""YOLOv8 through ultralytics: the real int8 ONNX model on real frames, random weights from the YAML, bad files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.proposals.detector import Detector, NoneDetector, make_detector, vocabulary_of

from .frames_fixture import grab_frames


@pytest.fixture(scope="module")
def women_frames():
    from tests.conftest import shared_path

    return [img for _, _, img in grab_frames(shared_path("media", "three_women_one_talks.mp4"), [1.0, 3.0, 5.0])]


def test_real_onnx_model_finds_the_women(shared_model, women_frames):
    det = make_detector("yolo", model=str(shared_model("yolov8n_coco80_int8.onnx")), device="cpu", batch_size=2)
    assert isinstance(det, Detector) and det.vocabulary == "coco"
    results = det.detect(women_frames)
    assert len(results) == 3
    for frame, boxes in zip(women_frames, results, strict=True):
        persons = [b for b in boxes if b.label == "person" and b.score >= 0.4]
        assert persons, "expected at least one confident person per frame"
        h, w = frame.shape[:2]
        for b in boxes:
            x, y, bw, bh = b.bbox
            assert -1 <= x and -1 <= y and bw > 0 and bh > 0 and x + bw <= w + 1 and y + bh <= h + 1


def test_random_yolov8_from_yaml_runs_batched():
    frames = [np.random.default_rng(i).integers(0, 255, (360, 640, 3), dtype=np.uint8) for i in range(3)]
    det = make_detector("yolo", model="yolov8n.yaml", device="cpu", conf=0.0, batch_size=2, max_det=5,
                        class_names="coco")
    assert det.vocabulary == "coco" and det.names[0] == "person"
    results = det.detect(frames)
    assert [len(r) for r in results] == [5, 5, 5]
    one_by_one = [det.detect([f])[0] for f in frames]
    assert [[round(b.score, 4) for b in r] for r in one_by_one] == [[round(b.score, 4) for b in r] for r in results]


def test_none_detector_and_vocabularies():
    assert NoneDetector().detect([np.zeros((4, 4, 3), np.uint8)] * 2) == [[], []]
    assert vocabulary_of(["person"] + ["x"] * 79) == "coco"
    assert vocabulary_of({0: "Accordion", **{i: "x" for i in range(1, 601)}}) == "oiv7"
    assert vocabulary_of(["cat", "dog"]) == "custom"


def test_missing_and_corrupt_checkpoints(tmp_path):
    with pytest.raises(PipelineError, match=r"yolov8x-oiv7.pt not found in .*models download yolov8x-oiv7"):
        make_detector("yolo", model="yolov8x-oiv7", device="cpu")
    with pytest.raises(PipelineError, match="file not found"):
        make_detector("yolo", model=str(tmp_path / "missing.pt"), device="cpu")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x01garbage")
    with pytest.raises(PipelineError, match="could not load it"):
        make_detector("yolo", model=str(corrupt), device="cpu")
    with pytest.raises(PipelineError, match="expected one of"):
        make_detector("detr")


def test_tampered_registry_checkpoint_is_not_unpickled(_isolated_cache):
    fake = _isolated_cache / "models" / "yolov8n.pt"
    fake.parent.mkdir(parents=True)
    fake.write_bytes(b"not the published file")
    with pytest.raises(PipelineError, match="refusing to unpickle"):
        make_detector("yolo", model="yolov8n", device="cpu")


def test_ultralytics_logs_to_stderr_never_stdout(tmp_path):
    """The first import on a machine logs "Creating new Ultralytics Settings" and later calls log through the same
    handler; a CLI's stdout is its JSON result, so both must land on stderr."""
    from tests.conftest import REPO

    code = ("import logging; from pipeline.proposals.runtime import import_ultralytics; import_ultralytics(); "
            "logging.getLogger('ultralytics').info('after the import')")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "YOLO_CONFIG_DIR": str(tmp_path / "ultra"),
           "AVATAR_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, text=True, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == ""
    assert "Creating new Ultralytics Settings" in done.stderr and "after the import" in done.stderr
    assert (tmp_path / "ultra" / "Ultralytics" / "settings.json").exists()  # under the dir asked for, not $HOME

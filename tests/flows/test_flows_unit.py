"""Flow wiring helpers that need no server: batch paths, runners, typed parameters, reports, the CLI's exits."""

import json

import pytest

from flows.common import artifact_key, batch_dir, make_task_runner, report, run_cli
from pipeline.errors import PipelineError


def test_batch_dir_is_under_the_work_dir_and_refuses_odd_names(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATAR_WORK_DIR", str(tmp_path))
    assert batch_dir("b-1.x") == tmp_path / "batches" / "b-1.x"
    for bad in ("../up", "a/b", "", "-x"):
        with pytest.raises(PipelineError, match="batch"):
            batch_dir(bad)


def test_task_runners_by_name(monkeypatch):
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    monkeypatch.delenv("AVATAR_TASK_RUNNER", raising=False)
    monkeypatch.setenv("AVATAR_THREADS", "3")
    assert isinstance(make_task_runner("thread"), ThreadPoolTaskRunner)
    assert make_task_runner(None)._max_workers == 3  # the default runner, as wide as $AVATAR_THREADS
    assert isinstance(make_task_runner("dask"), DaskTaskRunner)
    assert make_task_runner("dask:tcp://10.0.0.1:8786").address == "tcp://10.0.0.1:8786"
    monkeypatch.setenv("AVATAR_TASK_RUNNER", "dask:tcp://10.0.0.2:8786")  # what a stage deployment runs on
    assert make_task_runner(None).address == "tcp://10.0.0.2:8786"
    with pytest.raises(PipelineError, match="task runner 'ray'"):
        make_task_runner("ray")
    monkeypatch.setenv("AVATAR_THREADS", "0")
    with pytest.raises(PipelineError, match=r"\$AVATAR_THREADS: expected a positive whole number, got '0'"):
        make_task_runner("thread")


def test_report_counts_kept_rejected_and_progress():
    from collections import Counter

    from pipeline.stats import StageStats

    prepare = StageStats(stage="prepare", unit="video", kept=8, counts=Counter(frames=40),
                         rejected=Counter({"too_small": 1, "no_audio": 2}), headline="{kept} videos, {frames} frames")
    push = StageStats(stage="push", unit="task", processed=30, skipped=10, kept=40,
                      headline="{processed} new + {skipped} already")
    text = report("b1", {"prepare": prepare, "propose": None, "push": push}, {"tasks": 40, "annotated": 10})
    assert "| prepare | 8 videos, 40 frames | 3 | too_small: 1, no_audio: 2 |" in text
    assert "| push | 30 new + 10 already | 0 |  |" in text and "propose" not in text
    assert "10/40 tasks annotated (25 %)" in text
    assert artifact_key("Batch", "My_Run 1") == "batch-my-run-1"


def test_only_network_errors_are_retried():
    from prefect.states import Completed, Failed

    from flows.common import only_network_errors
    from pipeline.review.client import ServiceUnavailable

    assert only_network_errors(None, None, Failed(data=ServiceUnavailable("Label Studio at x: cannot reach")))
    assert not only_network_errors(None, None, Failed(data=PipelineError("task 3: malformed")))
    assert not only_network_errors(None, None, Failed(data=ValueError("a bug")))
    assert not only_network_errors(None, None, Completed(data=1))


def test_flow_parameters_are_forms_of_the_stage_settings():
    """The Prefect UI draws a form from the parameter schema: fields with types, defaults and descriptions."""
    from prefect.utilities.callables import parameter_schema

    from flows.stages import prepare_flow, propose_flow

    schema = parameter_schema(prepare_flow).model_dump()
    defs = schema["definitions"]
    config = schema["properties"]["config"]
    assert config["$ref"] == "#/definitions/PrepareSettings" and config["default"]["frames"]["n_frames"] == 5
    assert defs["PrepareSettings"]["properties"]["frames"]["$ref"] == "#/definitions/FrameSettings"
    frames = defs["FrameSettings"]["properties"]["n_frames"]
    assert frames["type"] == "integer" and frames["default"] == 5 and "frames per video" in frames["description"]
    assert defs["PrepareSettings"]["properties"]["workers"]["default"] == 1
    assert schema["properties"]["chunk_videos"] | {"description": ""} == {
        "default": 50, "description": "", "minimum": 1, "position": 3, "title": "chunk_videos", "type": "integer"}
    schema = parameter_schema(propose_flow).model_dump()
    assert schema["properties"]["models"]["enum"] == ["paper", "cpu-demo", "no-weights"]
    batch_size = schema["definitions"]["ProposeSettings"]["properties"]["batch_size"]
    assert batch_size["default"] is None and "(paper: 8)" in batch_size["description"]


def test_settings_from_parameters_presets_and_errors(tmp_path):
    from pydantic import ValidationError

    from flows.params import ProposeSettings, prepare_config, propose_config

    cfg = prepare_config({"frames": {"n_frames": 3}, "probe": {"max_duration_s": None}})
    assert cfg.frames.n_frames == 3 and cfg.probe.max_duration_s is None and cfg.probe.min_short_side == 360
    assert prepare_config(None) == prepare_config({})
    demo = propose_config({"batch_size": 2}, "cpu-demo", str(tmp_path))
    assert demo.tagger == "yamnet" and demo.device == "cpu" and demo.batch_size == 2
    assert demo.detector_options["model"] == f"{tmp_path}/yolov8n_coco80_int8.onnx"
    bare = propose_config(ProposeSettings(rules={"det_min": 0.2}), "no-weights")
    assert (bare.detector, bare.tagger, bare.segmenter, bare.rules.det_min) == ("none", "none", "none", 0.2)
    full = propose_config({}, "paper")
    assert (full.detector, full.tagger, full.segmenter) == ("yolo", "cavmae", "auto")  # auto: SAM if its weights exist
    assert propose_config({"detector": "none"}, "paper").detector == "none"  # a field given beats the preset
    with pytest.raises(ValidationError, match="frams"):
        prepare_config({"frams": {}})
    with pytest.raises(PipelineError, match="setting frames.n_frames: expected at least 1"):
        prepare_config({"frames": {"n_frames": 0}})
    with pytest.raises(PipelineError, match="setting batch_size"):
        propose_config({"batch_size": 0})
    with pytest.raises(PipelineError, match="models preset 'gpu'"):
        propose_config({}, "gpu")


def test_which_propose_settings_take_a_gpu_slot():
    from flows.params import propose_config
    from flows.stages import uses_gpu

    assert uses_gpu(propose_config({}, "paper"))  # device auto: a GPU if the worker has one
    assert not uses_gpu(propose_config({}, "cpu-demo", "/m"))  # device cpu
    assert not uses_gpu(propose_config({}, "no-weights"))  # no model at all
    assert not uses_gpu(propose_config({"tagger": "yamnet", "tagger_options": {"model": "y"}}, "no-weights"))
    assert uses_gpu(propose_config({"segmenter": "sam", "segmenter_options": {}}, "no-weights"))


def test_chunk_log_line_and_markdown():
    from collections import Counter

    from flows.chunks import chunk_line, chunks_markdown
    from pipeline.stats import StageStats

    chunk = StageStats(stage="prepare", unit="video", kept=2, processed=3, seconds=4.06, counts=Counter(frames=6),
                       rejected=Counter(too_small=1), headline="{kept} videos, {frames} frames")
    assert chunk_line(chunk, 6, 40) == ("2 videos, 6 frames kept, 1 rejected (too_small: 1) of 3 videos; 4.1 s; "
                                        "6/40 videos done (15 %)")
    run = StageStats(stage="prepare", unit="video", processed=5, seconds=9.0, counts=Counter(chunks=2),
                     breakdown={"worker": Counter(w2=2, w1=3)})
    text = chunks_markdown(run)
    assert "**Chunks**: 2 this run, 5 videos, 9.0 s of chunk time on 2 worker(s)." in text
    assert text.index("| w1 | 3 |") < text.index("| w2 | 2 |")
    assert "none this run" in chunks_markdown(StageStats(stage="prepare"))


def test_cli_exit_codes(capsys):
    from flows.chunks import ChunksFailed
    from pipeline.stats import StageStats

    assert run_cli(lambda: StageStats(stage="prepare", kept=2)) == 0
    assert json.loads(capsys.readouterr().out)["kept"] == 2

    def bad():
        raise PipelineError("setting frames.n_frames: expected at least 1 frame per video, got 0")

    def lost():
        raise ChunksFailed("prepare of batch b: 1 of 3 chunk(s) did not finish (...)")

    assert run_cli(bad) == 2
    assert capsys.readouterr().err == "error: setting frames.n_frames: expected at least 1 frame per video, got 0\n"
    assert run_cli(lost) == 1 and "did not finish" in capsys.readouterr().err


def test_most_spans_at_once():
    from flows.chunks import most_at_once

    assert most_at_once([]) == 0
    assert most_at_once([[0, 1], [1, 2], [2, 3]]) == 1  # one ends as the next starts: never two at once
    assert most_at_once([[0, 3], [1, 2], [2.5, 4]]) == 2
    assert most_at_once([[0, 10], [1, 9], [2, 8]]) == 3

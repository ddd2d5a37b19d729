"""Flow wiring helpers that need no server: batch paths, cache fingerprints, runners, the run report."""

import pytest

from flows.common import artifact_key, batch_dir, make_task_runner, report, source_fingerprint
from pipeline.errors import PipelineError


def test_batch_dir_is_under_the_work_dir_and_refuses_odd_names(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATAR_WORK_DIR", str(tmp_path))
    assert batch_dir("b-1.x") == tmp_path / "batches" / "b-1.x"
    for bad in ("../up", "a/b", "", "-x"):
        with pytest.raises(PipelineError, match="batch"):
            batch_dir(bad)


def test_source_fingerprint_follows_the_files(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"1")
    first = source_fingerprint(f"dir:{tmp_path}")
    assert source_fingerprint(f"dir:{tmp_path}") == first
    (tmp_path / "b.mp4").write_bytes(b"2")
    assert source_fingerprint(f"dir:{tmp_path}") != first
    assert source_fingerprint(f"dir:{tmp_path}") != source_fingerprint(f"synth:{tmp_path}")


def test_glob_source_fingerprint_follows_the_matched_files(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"1")
    spec = f"glob:{tmp_path}/*.mp4"
    first = source_fingerprint(spec)
    (tmp_path / "notes.txt").write_bytes(b"not matched")
    assert source_fingerprint(spec) == first
    (tmp_path / "b.mp4").write_bytes(b"2")
    assert source_fingerprint(spec) != first


def test_task_runners_by_name():
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    assert isinstance(make_task_runner("thread"), ThreadPoolTaskRunner)
    assert isinstance(make_task_runner("dask"), DaskTaskRunner)
    assert make_task_runner("dask:tcp://10.0.0.1:8786").address == "tcp://10.0.0.1:8786"
    with pytest.raises(PipelineError, match="task runner 'ray'"):
        make_task_runner("ray")


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

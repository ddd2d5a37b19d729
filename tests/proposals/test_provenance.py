"""No stale proposals: each records what made it; a rerun with other settings redoes the frames they affect, and
refuses (naming the difference and both flags) for frames Label Studio already shows."""

from __future__ import annotations

import logging

import pytest

from pipeline.cli import main
from pipeline.errors import PipelineError
from pipeline.layout import WorkDir
from pipeline.proposals.config import ProposeConfig
from pipeline.proposals.propose import propose
from pipeline.proposals.provenance import proposal_settings, weights_identity
from pipeline.records import PushRecord

from .test_propose import _synthetic_frames


def _settings(work) -> dict[str, dict]:
    return {r.frame_id: r.settings for r in WorkDir(work).records("proposals")}


def _bare(**changes) -> ProposeConfig:
    return ProposeConfig.from_dict({**ProposeConfig.no_weights_dict(), **changes})


def _push(work, *frame_ids: str) -> None:
    """What `review push` leaves behind for frames it sent (a task id per frame)."""
    with WorkDir(work).manifest("review_push") as m:
        m.extend(PushRecord(frame_id=f, project_id=1, project="p", task_id=10 + k) for k, f in enumerate(frame_ids))


def test_every_proposal_records_what_made_it(tmp_path):
    _synthetic_frames(tmp_path)
    propose(tmp_path, _bare())
    recorded, *others = _settings(tmp_path).values()
    assert others == [recorded, recorded]  # one run: the same settings on every frame
    assert recorded["detector"] == {"backend": "none"} and recorded["segmenter"] == {"backend": "none"}
    assert recorded["rules"]["tag_threshold"] == 0.1 and recorded["tags"] == {"top_k_tags": 5, "min_tag_score": 0.05}
    assert recorded["taxonomy"]["file"] == "taxonomy.yaml" and len(recorded["taxonomy"]["sha256"]) == 16
    assert recorded == proposal_settings(_bare(device="cpu", batch_size=3, flush_every=7))  # speed knobs: not results


def test_the_segmenter_recorded_is_the_one_used_and_weights_are_known_by_content(tmp_path):
    cfg = ProposeConfig(segmenter="auto")  # no SAM checkpoint in this test's model cache
    assert proposal_settings(cfg)["segmenter"] == {"backend": "grabcut"}  # the SAM options do not apply to it
    model = tmp_path / "detector.onnx"
    model.write_bytes(b"a" * 3_000_000)
    cfg = ProposeConfig(detector_options={"model": str(model), "conf": 0.3}, segmenter="none")
    first = proposal_settings(cfg)["detector"]
    assert first["conf"] == 0.3 and first["model"]["file"] == "detector.onnx"
    assert first["model"]["bytes"] == 3_000_000
    with open(model, "r+b") as fh:  # another model of the same name and size (a retrained checkpoint)
        fh.seek(2_500_000)
        fh.write(b"b")
    assert proposal_settings(cfg)["detector"] != first
    assert weights_identity("sam_vit_h") == {"ref": "sam_vit_h"}  # not in the cache: the backend says so when it loads


def test_a_rerun_with_other_settings_redoes_the_frames_it_affects(tmp_path, caplog):
    _synthetic_frames(tmp_path)
    propose(tmp_path, _bare())
    again = propose(tmp_path, _bare())
    assert (again.processed, again.skipped, again.counts["stale_redone"]) == (0, 3, 0)  # same settings: nothing
    with caplog.at_level(logging.WARNING):
        changed = propose(tmp_path, _bare(top_k_tags=3, rules={"det_min": 0.2}))
    assert (changed.processed, changed.counts["stale_redone"]) == (3, 3)
    assert {s["tags"]["top_k_tags"] for s in _settings(tmp_path).values()} == {3}
    assert "settings changed since these proposals were made: rules.det_min: 0.15 -> 0.2 (3 frame(s))" in caplog.text
    assert "tags.top_k_tags: 5 -> 3" in caplog.text


def test_proposals_made_before_settings_were_recorded_are_redone(tmp_path, caplog):
    _synthetic_frames(tmp_path)
    propose(tmp_path, _bare())
    work = WorkDir(tmp_path)
    old = work.records("proposals")
    for record in old:
        record.settings = {}  # a table written by an earlier version of the toolkit
    work.table("proposals").unlink()
    with work.manifest("proposals") as m:
        m.extend(old)
    with caplog.at_level(logging.WARNING):
        assert propose(tmp_path, _bare()).counts["stale_redone"] == 3
    assert "settings: not recorded (3 frame(s))" in caplog.text


def test_frames_already_in_label_studio_are_not_redone_silently(tmp_path, capsys):
    _synthetic_frames(tmp_path)
    propose(tmp_path, _bare())
    _push(tmp_path, "vid/000000", "vid/000001")
    before = _settings(tmp_path)
    with pytest.raises(PipelineError) as refused:
        propose(tmp_path, _bare(top_k_tags=2))
    message = str(refused.value)
    assert "2 frame(s) already pushed to Label Studio were proposed with other settings (tags.top_k_tags: 5 -> 2)" \
        in message and "--keep-pushed" in message and "--redo-pushed" in message and "1 other stale" in message
    assert _settings(tmp_path) == before  # refused before any work: nothing dropped
    kept = propose(tmp_path, _bare(top_k_tags=2), pushed="keep")
    assert (kept.counts["stale_redone"], kept.counts["stale_kept_pushed"], kept.processed) == (1, 2, 1)
    now = _settings(tmp_path)
    assert now["vid/000000"] == before["vid/000000"] and now["vid/000002"]["tags"]["top_k_tags"] == 2
    redone = propose(tmp_path, _bare(top_k_tags=2), pushed="redo")
    assert (redone.counts["stale_redone"], redone.processed) == (2, 2)
    assert {s["tags"]["top_k_tags"] for s in _settings(tmp_path).values()} == {2}
    # the CLI: the same refusal as one line (exit 2), then each flag
    common = ["propose", "--work-dir", str(tmp_path), "--no-weights", "--set", "top_k_tags=4"]
    assert main(common) == 2
    err = capsys.readouterr().err
    assert "already pushed to Label Studio" in err and "Traceback" not in err
    assert main([*common, "--keep-pushed"]) == 0 and "proposed again (made with other settings): 1" in \
        capsys.readouterr().out
    with pytest.raises(SystemExit):  # one of the two, not both
        main([*common, "--redo-pushed", "--keep-pushed"])

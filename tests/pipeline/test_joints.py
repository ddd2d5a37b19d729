"""The joints every stage shares: the strict config loader, the stage statistics, the work-folder layout and the
typed manifests."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.export import ExportConfig
from pipeline.layout import STAGES, WorkDir
from pipeline.prepare import PrepareConfig
from pipeline.proposals.config import ProposeConfig
from pipeline.proposals.records import AudioTag, InstanceProposal, ProposalRecord
from pipeline.proposals.scenario import RuleConfig
from pipeline.records import FrameRecord, VideoRecord
from pipeline.review import ReviewConfig
from pipeline.stats import StageStats


# ---------------------------------------------------------------------------------------------- config
def test_one_loader_for_every_stage_with_the_same_override_syntax(tmp_path):
    file = tmp_path / "propose.yaml"
    file.write_text("batch_size: 4\nrules:\n  tag_threshold: 0.2\ndetector_options:\n  model: a.onnx\n")
    cfg = load_config(ProposeConfig, file, ["rules.det_min=0.1", "detector_options.conf=0.05", "taxonomy=null"],
                      {"device": "cpu", "tagger": None})
    assert (cfg.batch_size, cfg.rules.tag_threshold, cfg.rules.det_min, cfg.device) == (4, 0.2, 0.1, "cpu")
    assert cfg.detector_options == {"model": "a.onnx", "conf": 0.05} and cfg.tagger == "cavmae"
    assert isinstance(cfg.rules, RuleConfig) and ProposeConfig.from_dict(cfg.to_dict()) == cfg
    review = load_config(ReviewConfig, None, ["chunk_size=7", "document_root=/srv/frames", "project=AVATAR b1"])
    assert review.chunk_size == 7 and review.document_root == Path("/srv/frames") and review.project == "AVATAR b1"
    assert load_config(ExportConfig, None, ["keep_inconsistent=true"]).keep_inconsistent is True
    prep = load_config(PrepareConfig, None, ["download.url_template=https://h/{id}.mp4", "probe.max_duration_s=null",
                                             "activity.floor_db=-60", "frames.min_sharpness=1e3"])
    assert prep.download.url_template == "https://h/{id}.mp4" and prep.probe.max_duration_s is None
    assert prep.activity.floor_db == -60.0 and isinstance(prep.activity.floor_db, float)
    assert prep.frames.min_sharpness == 1000.0


@pytest.mark.parametrize("make, message", [
    (lambda: ProposeConfig(batch_size="16"), "setting batch_size: expected int, got '16'"),
    (lambda: ProposeConfig.from_dict({"batch_size": 2.5}), "setting batch_size: expected int, got 2.5"),
    (lambda: ProposeConfig.from_dict({"detector": "detr"}), "setting detector: expected one of ('yolo', 'none')"),
    (lambda: ProposeConfig.from_dict({"batchsize": 4}), "did you mean 'batch_size'?"),
    (lambda: ProposeConfig.from_dict({"rules": {"tag_threshold": 2}}), "rules.tag_threshold: expected a score"),
    (lambda: ProposeConfig.from_dict({"rules": [1]}), "setting rules: expected RuleConfig, got [1]"),
    (lambda: ProposeConfig.from_dict({"detector_options": "a.onnx"}), "setting detector_options: expected dict"),
    (lambda: PrepareConfig.from_dict({"probe": {"require_audio": 1}}), "probe.require_audio: expected bool, got 1"),
    (lambda: PrepareConfig.from_dict({"probe": {"min_fps": None}}), "probe.min_fps: expected float, got null"),
    (lambda: PrepareConfig.from_dict({"frames": {"n_frames": True}}), "frames.n_frames: expected int, got True"),
    (lambda: PrepareConfig.from_dict({"activity": {"floor_db": float("nan")}}), "expected float, got nan"),
    (lambda: load_config(ReviewConfig, None, ["chunk_size=0"]), "setting chunk_size: expected at least 1"),
    (lambda: load_config(ReviewConfig, None, ["timeout_s=fast"]), "setting timeout_s: expected float, got 'fast'"),
    (lambda: RuleConfig(max_instances=0), "rules.max_instances: expected at least 1, got 0"),
])
def test_wrong_types_and_values_are_refused_naming_the_key(make, message):
    with pytest.raises(PipelineError) as info:
        make()
    assert message in str(info.value)


# ---------------------------------------------------------------------------------------------- stats
def test_stage_stats_merge_render_and_round_trip():
    a = StageStats(stage="prepare", unit="video", kept=3, processed=4, headline="{kept} videos, {frames} frames")
    a.reject("too_small")
    a.count("frames", 15)
    a.tally("scenario", "single")
    b = StageStats(stage="prepare", unit="video", kept=2, processed=3, skipped=1, info={"problems": ["x"]})
    b.reject("too_small", 2)
    b.reject("no_audio")
    b.count("frames", 10)
    b.tally("scenario", "single", 2)
    b.parts["probe"] = StageStats(stage="probe", kept=5)
    a.info["problems"] = ["w"]
    total = a + b
    assert (total.kept, total.processed, total.skipped, total.n_rejected, total.total) == (5, 7, 1, 4, 9)
    assert total.rejected == {"too_small": 3, "no_audio": 1} and total.counts["frames"] == 25
    assert total.breakdown["scenario"] == {"single": 3} and total.info["problems"] == ["w", "x"]
    assert total.parts["probe"].kept == 5 and a.kept == 3  # + makes a new one
    assert total.markdown_row() == "| prepare | 5 videos, 25 frames | 4 | too_small: 3, no_audio: 1 |"
    md = total.to_markdown("Batch b1")
    assert "| prepare / probe | 5 records | 0 |  |" in md and "| single | 3 |" in md
    assert StageStats.from_dict(json.loads(json.dumps(total.to_dict()))) == total
    assert StageStats(stage="push", headline="{pushed} new").headline_text() == "0 new"  # an uncounted name is 0


# ---------------------------------------------------------------------------------------------- layout
def test_the_layout_owner_names_every_file(tmp_path):
    work = WorkDir(tmp_path / "w")
    assert work.table("frames") == tmp_path / "w" / "manifests" / "frames.parquet"
    assert work.frame_image("v_000001", 12) == tmp_path / "w" / "frames" / "v_000001" / "000012.jpg"
    assert work.clip("---g-f_I2yQ_000001") == tmp_path / "w" / "videos" / "---g-f_I2yQ_000001.mp4"
    with pytest.raises(PipelineError, match="outside"):
        work.frame_image("..", 1)
    assert {s: (STAGES[s].record.__name__, STAGES[s].key) for s in ("frames", "proposals", "review")} == {
        "frames": ("FrameRecord", "frame_id"), "proposals": ("ProposalRecord", "frame_id"),
        "review": ("PullRecord", "frame_id")}
    with pytest.raises(PipelineError, match=r"frames manifest .*not found \(run `avatar-pipeline prepare` first\)"):
        work.records("frames")
    assert work.records("frames", required=False) == []


def test_typed_manifests_write_and_read_records(tmp_path):
    work = WorkDir(tmp_path)
    proposal = ProposalRecord(frame_id="v/000003", video_id="v", image_path="/f.jpg", width=4, height=3, frame_index=3,
                              timestamp_s=0.1, scenario=None, flag_reasons=["weak"], heard_categories=["dog"],
                              audio_tags=[AudioTag(label="Bark", score=0.91234, category="dog")],
                              instances=[InstanceProposal(instance_id=1, category="dog", detector_label="dog",
                                                          det_score=0.5, bbox=[0, 0, 2, 2], sounding=True)])
    with work.manifest("proposals") as m:
        m.append(proposal)
        with pytest.raises(TypeError, match="expected a ProposalRecord"):
            m.append({"frame_id": "v/000004"})
    df = pd.read_parquet(work.table("proposals"))
    assert list(df.columns) == ProposalRecord.columns() and isinstance(df.loc[0, "instances"], str)
    assert json.loads(df.loc[0, "audio_tags"]) == [{"label": "Bark", "score": 0.9123, "category": "dog"}]
    (back,) = work.records("proposals")
    assert back.instances[0].sounding and back.audio_tags[0].score == 0.9123 and back.scenario is None
    assert back.flag_reasons == ["weak"] and back.heard_categories == ["dog"]
    with work.manifest("videos") as m:
        m.extend(VideoRecord(video_id=f"v{i}") for i in range(3))
    assert work.manifest("videos").remove({"v1"}) == 1
    assert [v.video_id for v in work.records("videos")] == ["v0", "v2"]
    pd.DataFrame({"frame_id": ["a"]}).to_parquet(work.table("frames"))
    with pytest.raises(PipelineError, match="frames manifest .*: expected columns"):
        work.records("frames")
    assert FrameRecord.required()[:3] == ["frame_id", "video_id", "video_path"]


def test_sweep_removes_only_what_killed_runs_leave(tmp_path):
    work = WorkDir(tmp_path)
    (work.videos / ".dl-x1").mkdir(parents=True)
    (work.videos / "kept_000000.mp4").write_bytes(b"a clip")
    (work.videos / ".kept_000001.mp4.a1b2c3d4e5f6.tmp").write_bytes(b"half")
    (work.manifests / "frames.parts").mkdir(parents=True)
    (work.manifests / "frames.parts" / ".part.parquet.a1b2c3d4e5f6.tmp").write_bytes(b"half")
    assert work.sweep_leftovers() == 3
    assert [p.name for p in work.videos.iterdir()] == ["kept_000000.mp4"] and work.sweep_leftovers() == 0
    assert Counter(p.suffix for p in tmp_path.rglob("*") if p.is_file()) == Counter({".mp4": 1})

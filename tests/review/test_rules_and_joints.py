"""Review follows THE scenario rule (avatar_bench.rules) and takes the videos' metadata from the work folder."""

from __future__ import annotations

import copy

import pytest

from avatar_bench.format import AvatarDataset
from avatar_bench.rules import scenario_violations
from pipeline.export import export
from pipeline.layout import WorkDir
from pipeline.records import ProbeRecord, VideoRecord
from pipeline.review import config as C
from pipeline.review.convert import MalformedAnnotation, convert_task
from pipeline.review.merge import SplitStore
from pipeline.review.pull import video_metadata
from pipeline.review.tasks import build_task, frame_choice
from tests.review.dummies import CATEGORIES, proposal_row
from tests.review.test_convert import NAMES, exported


@pytest.mark.parametrize("with_choice", [False, True], ids=["scenario inferred", "scenario chosen"])
def test_two_sounding_instances_of_one_category_are_mixed_through_review_and_export(tmp_path, with_choice):
    row = proposal_row(tmp_path, 0, categories=("dog", "dog"), sounding=(True, True))
    row.scenario = "mixed" if with_choice else None
    task = build_task(row, tmp_path, NAMES)
    assert [r["value"]["choices"] for r in task["predictions"][0]["result"] if r["from_name"] == C.SCENARIO] == (
        [["mixed"]] if with_choice else [])
    frame = convert_task(exported(task), NAMES, {})
    assert frame.scenario == "mixed" and frame.heard == ["dog"] and [i.sounding for i in frame.instances] == [True] * 2
    assert scenario_violations("mixed", [(i.category, i.sounding) for i in frame.instances], frame.heard) == []
    store = SplitStore(tmp_path / "reviewed", CATEGORIES)
    store.upsert(frame)
    store.save()
    (image,) = AvatarDataset.load(tmp_path / "reviewed" / "train.json").images
    assert image.scenario == "mixed"
    summary = export(tmp_path / "reviewed", tmp_path / "release")
    release = AvatarDataset.load(tmp_path / "release" / "train.json")
    assert [im.scenario for im in release.images] == ["mixed"] and not summary.info["excluded"]


def test_a_chosen_scenario_that_contradicts_the_instances_is_reported_not_merged(tmp_path):
    task = build_task(proposal_row(tmp_path, 0, categories=("dog", "dog"), sounding=(True, True)), tmp_path, NAMES)
    assert task["data"]["proposed_scenario"] == "single"  # the dummy claims single ...
    assert task["data"]["preselected_scenario"] is None  # ... which the regions contradict: not preselected
    assert "scenario single not preselected" in task["data"]["hint"]
    chose_single = [*task["predictions"][0]["result"], frame_choice(C.SCENARIO, ["single"])]  # the annotator's pick
    with pytest.raises(MalformedAnnotation, match="scenario 'single' contradicts the frame: .*found 2 .that is mixed"):
        convert_task(exported(task, result=chose_single), NAMES, {})
    masks = [r for r in copy.deepcopy(task["predictions"][0]["result"]) if r["from_name"] == C.MASK]
    silent = [{"id": r["id"], "type": "choices", "from_name": C.SOUNDING, "to_name": C.IMAGE,
               "value": {"choices": [C.SOUNDING_NO]}} for r in masks]  # none sounds, nothing heard: no scenario fits
    with pytest.raises(MalformedAnnotation, match="no scenario chosen, no sounding instance and no heard category"):
        convert_task(exported(task, result=masks + silent), NAMES, {})


def test_pull_takes_the_videos_metadata_from_the_work_folder_not_from_the_task(tmp_path):
    work = WorkDir(tmp_path)
    row = proposal_row(tmp_path, 3)
    with work.manifest("videos") as m:
        m.append(VideoRecord(video_id=row.video_id, path=f"/data/videos/{row.video_id}.mp4", source="synth"))
    with work.manifest("probe") as m:
        m.append(ProbeRecord(video_id=row.video_id, width=640, height=360, fps=25.0, duration_s=10.0))
    task = build_task(row, tmp_path, NAMES)
    assert "video" not in task["data"]  # no round trip through Label Studio
    store = SplitStore(tmp_path / "ann", CATEGORIES)
    store.upsert(convert_task(exported(task), NAMES, {}), video_metadata(work).get(row.video_id))
    store.save()
    (video,) = AvatarDataset.load(tmp_path / "ann" / "train.json").videos
    assert (video.file_name, video.width, video.height, video.fps, video.duration_s, video.source) == (
        f"{row.video_id}.mp4", 640, 360, 25.0, 10.0, "synth")
    (image,) = AvatarDataset.load(tmp_path / "ann" / "train.json").images
    assert image.file_name == f"{row.video_id}/000012.jpg" and image.extra["frame_id"] == row.frame_id
    assert store.find(f"{row.video_id}/12") and store.find(row.frame_id)  # one frame, whatever the padding

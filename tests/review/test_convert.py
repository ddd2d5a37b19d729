"""Tasks from proposals, exported annotations back to frames, merge into split files (no server needed)."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from label_studio_sdk.converter.brush import decode_rle
from pycocotools.coco import COCO

from avatar_bench import rle
from avatar_bench.format import AvatarDataset
from pipeline.errors import PipelineError, Rejected
from pipeline.review import config as C
from pipeline.review.brush import mask_to_brush
from pipeline.review.convert import MalformedAnnotation, convert_task
from pipeline.review.merge import SplitStore
from pipeline.review.tasks import build_task, local_files_url
from tests.review.dummies import CATEGORIES, H, W, blob, proposal_row

NAMES = {c.name for c in CATEGORIES}


def exported(task: dict, task_id: int = 7, result: list | None = None, **ann) -> dict:
    """The shape of one task in Label Studio's JSON export, annotated with ``result`` (default: the prediction)."""
    pred = task.get("predictions", [{}])[0]
    annotation = {"id": 70 + task_id, "completed_by": 1, "was_cancelled": False, "lead_time": 3.5,
                  "result": copy.deepcopy(pred.get("result", []) if result is None else result),
                  "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:01Z", "prediction": pred}
    annotation.update(ann)
    return {"id": task_id, "data": task["data"], "annotations": [annotation]}


def test_labeling_config_keeps_dynamic_lists_and_the_controls():
    xml = C.labeling_config(CATEGORIES)
    # the category lists come with each task (frame's categories first): the config only names the task fields
    assert 'name="mask" toName="image" value="$mask_labels"' in xml and 'value="$heard_options"' in xml
    assert 'value="$box_labels"' in xml and '<Label value="dog"' not in xml
    assert 'perRegion="true"' in xml and 'value="reject frame"' in xml
    assert '<Video name="cut" value="$cut"' in xml and '<Video name="clip" value="$clip"' in xml
    assert xml.count("<Filter ") == 2
    static = C.labeling_config(CATEGORIES, static=True)  # for projects whose earlier tasks carry no lists
    assert "$mask_labels" not in static and "$heard_options" not in static and "$box_labels" not in static
    assert all(static.count(f'value="{c.name}"') == 3 for c in CATEGORIES)  # mask, box and heard
    with pytest.raises(PipelineError, match="at least one category"):
        C.labeling_config([])


def test_a_static_template_gets_every_category(tmp_path):
    static = tmp_path / "static.xml"
    static.write_text('<View><Image name="image" value="$image"/><BrushLabels name="mask" toName="image">'
                      '<Label value="person"/></BrushLabels><RectangleLabels name="box" toName="image"/>'
                      '<Choices name="sounding" toName="image" perRegion="true"/><Choices name="scenario" '
                      'toName="image"/><Choices name="heard" toName="image"><Choice value="person"/></Choices>'
                      '<Choices name="reject" toName="image"/></View>')
    xml = C.labeling_config(CATEGORIES, static)
    for c in CATEGORIES:
        assert xml.count(f'<Label value="{c.name}"') == 2 and f'<Choice value="{c.name}"' in xml  # mask and box
    assert 'value="person"' not in xml  # the template's example categories are replaced


def test_labeling_config_template_must_keep_the_controls(tmp_path):
    bad = tmp_path / "t.xml"
    bad.write_text('<View><Image name="image" value="$image"/></View>')
    with pytest.raises(PipelineError, match="missing control"):
        C.labeling_config(CATEGORIES, bad)


def test_task_carries_the_proposal_masks_exactly(tmp_path):
    row = proposal_row(tmp_path, 3)
    task = build_task(row, tmp_path, NAMES)
    assert task["data"]["image"] == "/data/local-files/?d=frames/sy000000003_000000/000012.jpg"
    assert task["data"]["frame_id"] == row.frame_id and "FLAGGED" in task["data"]["hint"]
    pred = task["predictions"][0]
    assert pred["model_version"] == "test-v1"
    masks = [r for r in pred["result"] if r["from_name"] == C.MASK]
    for r, inst in zip(masks, row.instances, strict=True):
        assert r["value"]["rle"] == mask_to_brush(rle.decode(inst.rle))
        assert r["value"]["brushlabels"] == [inst.category]
    json.dumps(task, allow_nan=False)  # strict JSON: what Label Studio receives
    sounding = {r["id"]: r["value"]["choices"] for r in pred["result"] if r["from_name"] == C.SOUNDING}
    assert sounding == {"p0": ["sounding"], "p1": ["silent"]}


def test_task_outside_the_document_root_is_rejected(tmp_path):
    with pytest.raises(Rejected, match="LOCAL_FILES_DOCUMENT_ROOT"):
        local_files_url("/etc/hostname", tmp_path)
    assert local_files_url(tmp_path / "a b#.jpg", tmp_path) == "/data/local-files/?d=a%20b%23.jpg"


def test_unknown_category_proposal_is_left_out_not_the_frame(tmp_path):
    task = build_task(proposal_row(tmp_path, 0), tmp_path, {"dog"})
    labels = [r["value"]["brushlabels"] for r in task["predictions"][0]["result"] if r["from_name"] == C.MASK]
    assert labels == [["dog"]]


def test_accepted_proposal_converts_back_to_the_same_masks(tmp_path):
    row = proposal_row(tmp_path, 1)
    frame = convert_task(exported(build_task(row, tmp_path, NAMES)), NAMES, {1: "ann@x"})
    assert frame.status == "ok" and frame.scenario == "single" and frame.heard == ["dog"]
    assert frame.annotator == "ann@x" and frame.version == "77@2026-01-01T00:00:01Z"
    insts = [i.to_dict() for i in row.instances]
    assert [i.segmentation for i in frame.instances] == [i["rle"] for i in insts]
    assert [i.sounding for i in frame.instances] == [True, False]
    assert not any(i.changed for i in frame.instances)
    assert frame.instances[0].proposal["instance_id"] == insts[0]["instance_id"]


def test_corrected_mask_is_marked_changed_and_exact(tmp_path):
    task = build_task(proposal_row(tmp_path, 1), tmp_path, NAMES)
    result = copy.deepcopy(task["predictions"][0]["result"])
    truth = blob(99)
    result[0]["value"]["rle"] = mask_to_brush(truth)
    frame = convert_task(exported(task, result=result), NAMES, {})
    assert frame.instances[0].changed and not frame.instances[1].changed
    assert (rle.decode(frame.instances[0].segmentation) == truth).all()


def test_reject_and_skip(tmp_path):
    task = build_task(proposal_row(tmp_path, 2), tmp_path, NAMES)
    reject = [{"id": "r", "type": "choices", "from_name": C.REJECT, "to_name": "image",
               "value": {"choices": [C.REJECT_CHOICE]}}]
    assert convert_task(exported(task, result=reject), NAMES, {}).status == "rejected"
    assert convert_task(exported(task, was_cancelled=True, result=[]), NAMES, {}).status == "skipped"
    assert convert_task({"id": 1, "data": task["data"], "annotations": []}, NAMES, {}) is None


@pytest.mark.parametrize("edit, message", [
    (lambda r: r[0]["value"].update(brushlabels=["unicorn"]), "unicorn"),
    (lambda r: r[0].update(original_width=W + 1), "expected the frame's"),
    (lambda r: r[0]["value"].update(rle=mask_to_brush(np.ones((H, W + 1), bool))), "expected 90x160x4"),
    (lambda r: r[-1]["value"].update(choices=["nowhere"]), "heard categories"),
])
def test_malformed_annotations_raise_with_the_region(tmp_path, edit, message):
    task = build_task(proposal_row(tmp_path, 2), tmp_path, NAMES)
    result = copy.deepcopy(task["predictions"][0]["result"])
    edit(result)
    with pytest.raises(MalformedAnnotation, match=message):
        convert_task(exported(task, result=result), NAMES, {})


def test_missing_choices_are_inferred(tmp_path):
    task = build_task(proposal_row(tmp_path, 2), tmp_path, NAMES)
    masks_only = [r for r in task["predictions"][0]["result"] if r["from_name"] == C.MASK]
    frame = convert_task(exported(task, result=masks_only), NAMES, {})
    assert [i.sounding for i in frame.instances] == [True, True]  # no choice: sounding (not off screen)
    assert frame.scenario == "mixed" and frame.heard == ["car", "dog"]


def test_merge_is_idempotent_and_valid(tmp_path):
    frames = []
    for i in range(6):
        task = build_task(proposal_row(tmp_path, i), tmp_path, NAMES)
        frames.append(convert_task(exported(task, task_id=i), NAMES, {1: "a@x"}))
    out = tmp_path / "ann"
    store = SplitStore(out, CATEGORIES)
    for f in frames:
        store.upsert(f)
    assert len(store.save()) == 3
    before = {p.name: p.read_bytes() for p in out.glob("*.json")}
    again = SplitStore(out, CATEGORIES)
    for f in frames:
        again.upsert(f)
    again.save()
    assert {p.name: p.read_bytes() for p in out.glob("*.json")} == before  # same ids, same bytes
    train = AvatarDataset.load(out / "train.json")
    assert [im.id for im in train.images] == [1, 4]  # ids kept on re-merge (frames 0 and 3 are train)
    assert all(a.origin == "human" and a.extra["reviewed_by"] == "a@x" for a in train.annotations)
    assert COCO(str(out / "train.json")).getAnnIds() == [a.id for a in train.annotations]
    assert SplitStore(out, CATEGORIES).remove("sy000000000_000000/12")


def test_merge_moves_a_frame_between_splits_and_keeps_category_ids(tmp_path):
    task = build_task(proposal_row(tmp_path, 0), tmp_path, NAMES)
    frame = convert_task(exported(task), NAMES, {})
    store = SplitStore(tmp_path, CATEGORIES[::-1])  # ids come from the records, not the order
    store.upsert(frame)
    store.save()
    frame.data = {**frame.data, "split": "test"}
    store = SplitStore(tmp_path, CATEGORIES)
    store.upsert(frame)
    store.save()
    train, test = AvatarDataset.load(tmp_path / "train.json"), AvatarDataset.load(tmp_path / "test.json")
    assert not train.images and len(test.images) == 1 and not train.videos
    assert {c.name: c.id for c in test.categories} == {"dog": 1, "car": 2, "drum": 3}


def test_a_stroke_painted_in_the_browser_keeps_pixels_at_least_half_opaque():
    # Real data: a brush stroke drawn with the mouse in Label Studio's UI (headless Chromium), as exported.
    task = json.loads((Path(__file__).parent / "data" / "ui_brush_stroke.json").read_text())
    stroke = next(r for r in task["annotations"][0]["result"] if r["type"] == "brushlabels")
    alpha = decode_rle(bytes(stroke["value"]["rle"])).reshape(360, 640, 4)[..., 3]
    assert (alpha == 255).sum() > 1000 and ((alpha > 0) & (alpha < 255)).sum() > 100  # anti-aliased edges
    frame = convert_task(task, {"drum", "bell", "bird", "engine", "horn", "dog"}, {1: "a@x"})
    (inst,) = frame.instances
    assert (rle.decode(inst.segmentation) == (alpha >= 128)).all()
    assert (inst.category, inst.sounding, inst.changed, inst.proposal) == ("bell", True, True, None)
    assert (frame.scenario, frame.heard, frame.annotator) == ("single", ["bell", "dog"], "a@x")

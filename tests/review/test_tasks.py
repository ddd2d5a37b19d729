"""Tasks as pushed: strict JSON, a region for every detection, choices the regions back, per-task label order,
and ``push --dry-run`` (no server needed)."""

import json
import math

import numpy as np
import pytest

from avatar_bench import rle
from avatar_bench.format import AvatarDataset
from pipeline.layout import WorkDir
from pipeline.proposals.records import AudioTag, InstanceProposal, ProposalRecord
from pipeline.review import config as C
from pipeline.review import push
from pipeline.review.convert import MalformedAnnotation, convert_task
from pipeline.review.push import read_proposals
from pipeline.review.tasks import build_task
from tests.review.dummies import CATEGORIES, H, W, blob, make_proposals, proposal_row
from tests.review.test_convert import exported

NAMES = [c.name for c in CATEGORIES]  # dog, car, drum


def _inst(k: int, category: str, sounding: bool, mask: np.ndarray | None,
          bbox=(20.0, 10.0, 40.0, 30.0)) -> InstanceProposal:
    return InstanceProposal(instance_id=k, category=category, detector_label=category, det_score=0.8,
                            bbox=list(bbox), sounding=sounding, sounding_score=0.5,
                            rle=rle.encode(mask) if mask is not None else None)


def _row(tmp_path, i: int, instances: list[InstanceProposal], scenario, heard: list[str],
         **extra) -> ProposalRecord:
    row = proposal_row(tmp_path, i)
    row.instances, row.scenario, row.heard_categories = instances, scenario, heard
    for name, value in extra.items():
        setattr(row, name, value)
    return row


def _results(task: dict, kind: str) -> list[dict]:
    return [r for r in task.get("predictions", [{}])[0].get("result", []) if r["type"] == kind]


def test_a_mixed_batch_is_strict_json(tmp_path):
    nan, inf = float("nan"), float("inf")
    empty = np.zeros((H, W), bool)
    rows = [
        _row(tmp_path, 0, [_inst(0, "dog", True, blob(1)), _inst(1, "car", False, None)], "single", ["dog"]),
        _row(tmp_path, 1, [], None, [], scenario_score=nan, timestamp_s=nan),  # no scenario proposed
        _row(tmp_path, 2, [_inst(0, "dog", True, None, bbox=(nan, 1, 2, 3))], nan, ["dog"], scenario_score=inf),
        _row(tmp_path, 3, [_inst(0, "drum", True, empty), _inst(1, "car", True, blob(4))], "mixed", ["drum", "car"],
             audio_tags=[AudioTag(label="x", score=nan)]),
    ]
    tasks = [build_task(r, tmp_path, NAMES) for r in rows]
    text = json.dumps(tasks, allow_nan=False)  # raises on NaN/inf anywhere
    assert "NaN" not in text and "Infinity" not in text
    assert tasks[1]["data"]["timestamp_s"] == 0.0 and "predictions" not in tasks[1]
    assert "predictions" not in tasks[2] and tasks[2]["data"]["proposed_scenario"] is None  # NaN scenario: none
    assert "proposed scenario: none" in tasks[2]["data"]["hint"]
    # a masked detection is a brush region, one without a mask (or with an empty one) a box: never dropped
    assert [r["value"]["brushlabels"] for r in _results(tasks[0], "brushlabels")] == [["dog"]]
    (box,) = _results(tasks[0], "rectanglelabels")
    assert box["from_name"] == C.BOX and box["value"]["rectanglelabels"] == ["car"]
    assert [box["value"][k] for k in ("x", "y", "width", "height")] == pytest.approx(
        [100 * 20 / W, 100 * 10 / H, 100 * 40 / W, 100 * 30 / H])
    assert [r["value"]["rectanglelabels"] for r in _results(tasks[3], "rectanglelabels")] == [["drum"]]
    assert [r["value"]["brushlabels"] for r in _results(tasks[3], "brushlabels")] == [["car"]]
    assert {r["id"] for r in _results(tasks[0], "choices") if r["from_name"] == C.SOUNDING} == {"p0", "p1"}
    assert "paint each mask" in tasks[0]["data"]["hint"] and tasks[0]["data"]["box_labels"] == [
        {"value": "car", "background": C.PALETTE[1]}]


def test_no_preselected_choice_without_a_region_to_back_it(tmp_path):
    # the sounding instance has neither a mask nor a usable box: no region, so no scenario and no heard category
    lost = _row(tmp_path, 0, [_inst(0, "dog", True, None, bbox=(0, 0, 0, 0))], "single", ["dog"])
    task = build_task(lost, tmp_path, NAMES)
    assert "predictions" not in task and task["data"]["preselected_scenario"] is None
    assert task["data"]["proposed_scenario"] == "single"  # what the proposal said stays on record
    hint = task["data"]["hint"]
    assert "scenario single not preselected: single frames need at least one sounding instance" in hint
    assert "heard dog not preselected" in hint and "neither a mask" in hint
    # a sounding category the project does not know: same, and the hint names it
    unknown = build_task(_row(tmp_path, 1, [_inst(0, "unicorn", True, blob(2))], "single", ["dog"]), tmp_path, NAMES)
    assert "'unicorn' is not a category of this project" in unknown["data"]["hint"]
    assert unknown["predictions"][0]["result"] == [{"id": "heard", "type": "choices", "from_name": "heard",
                                                    "to_name": "image", "value": {"choices": ["dog"]}}]
    # off screen: heard without any region is what the scenario means; both are preselected
    off = build_task(_row(tmp_path, 2, [_inst(0, "car", False, blob(3))], "off_screen", ["dog"]), tmp_path, NAMES)
    chosen = {r["from_name"]: r["value"]["choices"] for r in _results(off, "choices") if r["from_name"] != "sounding"}
    assert chosen == {C.SCENARIO: ["off_screen"], C.HEARD: ["dog"]}
    # a box backs a scenario as well as a mask does
    boxed = build_task(_row(tmp_path, 3, [_inst(0, "dog", True, None)], "single", ["dog"]), tmp_path, NAMES)
    assert boxed["data"]["preselected_scenario"] == "single"


def test_the_frames_categories_come_first(tmp_path):
    row = _row(tmp_path, 0, [_inst(0, "drum", True, blob(1))], "single", ["drum", "car"])
    data = build_task(row, tmp_path, NAMES)["data"]
    assert [o["value"] for o in data["mask_labels"]] == ["drum", "car", "dog"]
    assert [o["value"] for o in data["heard_options"]] == ["drum", "car", "dog"]
    colours = {o["value"]: o["background"] for o in data["mask_labels"]}
    assert colours == {"dog": C.PALETTE[0], "car": C.PALETTE[1], "drum": C.PALETTE[2]}  # stable across tasks


def test_a_box_left_in_an_annotation_is_malformed_not_dropped(tmp_path):
    row = _row(tmp_path, 0, [_inst(0, "dog", True, blob(1)), _inst(1, "car", False, None)], "single", ["dog"])
    task = build_task(row, tmp_path, set(NAMES))
    with pytest.raises(MalformedAnnotation, match=r"region p1: still a box \(car\): paint its mask"):
        convert_task(exported(task), set(NAMES), {})
    painted = [r for r in task["predictions"][0]["result"] if r["type"] != "rectanglelabels"]
    assert len(convert_task(exported(task, result=painted), set(NAMES), {}).instances) == 1


def test_dry_run_writes_exactly_the_tasks_without_a_server(tmp_path, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")  # nothing listens: any contact would fail
    make_proposals(tmp_path, 3)
    out = tmp_path / "tasks.json"
    cfg = C.ReviewConfig(project="dry", categories=list(CATEGORIES), document_root=tmp_path)
    stats = push(tmp_path, cfg, dry_run=out)
    assert (stats.counts["tasks"], stats.n_rejected, stats.info["project_id"]) == (3, 0, None)
    tasks = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    expected = [build_task(r, tmp_path, NAMES) for r in read_proposals(tmp_path)]  # what a push would send
    assert tasks == json.loads(json.dumps(expected))
    assert not WorkDir(tmp_path).table("review_push").exists()  # nothing was pushed, nothing recorded


def test_dry_run_from_the_cli(tmp_path, monkeypatch, capsys):
    from pipeline.cli import main

    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")
    make_proposals(tmp_path, 2)
    outside = tmp_path / "root"
    outside.mkdir()
    cats = tmp_path / "cats.json"
    AvatarDataset(categories=CATEGORIES).save(cats)
    common = ["review", "push", "--work-dir", str(tmp_path), "--categories", str(cats), "--dry-run"]
    assert main([*common, "--out", str(tmp_path / "t.json"), "--document-root", str(tmp_path)]) == 0
    assert "dry run: 2 task(s) written to" in capsys.readouterr().out
    assert len(json.loads((tmp_path / "t.json").read_text())) == 2
    # frames outside the document root are counted, not written
    assert main([*common, "--out", str(tmp_path / "u.json"), "--document-root", str(outside)]) == 0
    assert "0 task(s)" in capsys.readouterr().out and json.loads((tmp_path / "u.json").read_text()) == []
    with pytest.raises(SystemExit) as exit_info:  # only push has a dry run: pull refuses the flag
        main(["review", "pull", "--work-dir", str(tmp_path), "--dry-run"])
    assert exit_info.value.code == 2 and "unrecognized arguments: --dry-run" in capsys.readouterr().err


def test_finite_scores_survive(tmp_path):
    task = build_task(_row(tmp_path, 0, [_inst(0, "dog", True, blob(1))], "single", ["dog"], scenario_score=0.7),
                      tmp_path, NAMES)
    assert math.isclose(task["predictions"][0]["score"], 0.7)

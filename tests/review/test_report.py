"""``avatar-pipeline report`` over a reviewed batch built by the real push/pull code (no server): each number of
the table equals what the scripted annotator did, frames re-proposed after their push are left out."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from avatar_bench import rle
from pipeline.cli import main
from pipeline.layout import WorkDir
from pipeline.records import PushRecord
from pipeline.report import quality_report
from pipeline.report.metrics import iou
from pipeline.review import config as C
from pipeline.review.brush import mask_to_brush
from pipeline.review.merge import SplitStore
from pipeline.review.pull import _Merge
from pipeline.review.tasks import build_task, instance_results, reject_result
from tests.review.dummies import CATEGORIES, H, W, proposal_row
from tests.review.test_convert import NAMES, exported


def _set(result: list[dict], rid: str, name: str, choices: list[str]) -> None:
    for r in result:
        if r.get("id") == rid and r["from_name"] == name:
            r["value"]["choices"] = choices


def batch(tmp_path):
    """Six frames pushed and pulled: what the annotator did to each is in the comments; returns the dog IoU."""
    work = WorkDir(tmp_path)
    rows = [proposal_row(tmp_path, i) for i in range(6)]
    rows[4].model_version = "test-v2"
    with work.manifest("proposals") as m:
        m.extend(rows)
    stored = {p.frame_id: p for p in work.records("proposals")}
    with work.manifest("review_push") as m:  # what push records: the digest of the proposal each task shows
        m.extend(PushRecord(frame_id=p.frame_id, project_id=1, project="p", task_id=i,
                            proposal=p.digest() if i != 5 else "0123456789abcdef")  # frame 5: proposed again since
                 for i, p in enumerate(stored.values()))
    tasks = [build_task(p, tmp_path, NAMES) for p in stored.values()]
    results = [copy.deepcopy(t["predictions"][0]["result"]) for t in tasks]
    # frame 1: the dog's mask redrawn wider, the car marked sounding too, so the frame is mixed and the car heard
    dog = rle.decode(stored[rows[1].frame_id].instances[0].rle).astype(bool)
    wider = dog | np.roll(dog, 3, axis=1)
    next(r for r in results[1] if r["id"] == "p0" and r["type"] == "brushlabels")["value"]["rle"] = mask_to_brush(wider)
    _set(results[1], "p1", C.SOUNDING, [C.SOUNDING_YES])
    _set(results[1], C.SCENARIO, C.SCENARIO, ["mixed"])
    _set(results[1], C.HEARD, C.HEARD, ["dog", "car"])
    results[2] = reject_result()  # frame 2: rejected
    # frame 3: the car deleted, a drum added where nothing was proposed
    results[3] = [r for r in results[3] if r.get("id") != "p1"]
    drum = np.zeros((H, W), bool)
    drum[:6, :6] = True
    results[3] += instance_results({"category": "drum", "rle": rle.encode(drum), "sounding": False}, "x1", H, W)
    seconds = [3.5, 10.0, 2.0, 30.0, 3.5, 8.0]
    store = SplitStore(tmp_path / "annotations", CATEGORIES)
    merge = _Merge(store, {}, NAMES, {1: "annotator@x"}, {})
    for i, (task, result) in enumerate(zip(tasks, results, strict=True)):
        merge.task(exported(task, task_id=i, result=result, lead_time=seconds[i]))
    store.save()
    with work.manifest("review") as m:
        m.extend(merge.records)
    assert not merge.stats.info["malformed"]
    return iou(rle.decode(stored[rows[1].frame_id].instances[0].rle).astype(bool), wider)


def test_the_report_counts_what_the_annotator_did(tmp_path):
    dog_iou = batch(tmp_path)
    stats = quality_report([WorkDir(tmp_path)], tmp_path / "report")
    rows = {r["backend"]: r for r in stats.info["rows"]}
    v1, v2 = rows["test-v1"], rows["test-v2"]
    assert (v1["frames"], v1["kept"], v1["rejected"], v1["pairs"], v1["added"], v1["removed"]) == (4, 3, 1, 5, 1, 1)
    assert v1["unchanged"] == pytest.approx(1 / 3)  # frame 0 only
    assert v1["mask_iou"] == pytest.approx((4 + dog_iou) / 5) and 0.3 < dog_iou < 0.9
    assert v1["sounding"] == pytest.approx(4 / 5)  # the car of frame 1 flipped
    assert v1["scenario"] == pytest.approx(2 / 3)  # frame 1 became mixed
    assert v1["seconds"] == pytest.approx((3.5 + 10 + 2 + 30) / 4) and v1["seconds_median"] == pytest.approx(6.75)
    assert (v2["frames"], v2["unchanged"], v2["mask_iou"], v2["seconds"]) == (1, 1.0, 1.0, 3.5)
    assert rows["all backends"]["frames"] == 5 and stats.kept == 5
    assert stats.rejected == {"replaced_after_push": 1}  # never compared against a proposal it did not show
    text = (tmp_path / "report" / "proposal_quality.md").read_text()
    assert "| `test-v1` | 4 | 1 | 33.3 % |" in text and "replaced_after_push 1" in text
    assert (tmp_path / "report" / "proposal_quality.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "report" / "proposal_quality.json").read_text())["rows"][0]["backend"] == "test-v1"


def test_report_from_the_cli(tmp_path, capsys):
    batch(tmp_path / "batches" / "b1")
    assert main(["report", "--work-dir", str(tmp_path), "--json", "--no-plots"]) == 0  # finds batches/*
    out = json.loads(capsys.readouterr().out)
    assert out["kept"] == 5 and not (tmp_path / "report" / "proposal_quality.png").exists()
    assert main(["report", str(tmp_path / "batches" / "b1"), "--out", str(tmp_path / "r2")]) == 0
    assert "# Proposal quality" in capsys.readouterr().out and (tmp_path / "r2" / "proposal_quality.md").exists()
    assert main(["report", "--work-dir", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert "expected batch work folders with proposals" in err and "Traceback" not in err
    assert main(["report", "--work-dir", str(tmp_path), "--set", "match_iou=0"]) == 2
    assert "setting match_iou: expected an IoU in (0, 1]" in capsys.readouterr().err


def test_nothing_pulled_yet_is_said_plainly(tmp_path):
    with WorkDir(tmp_path).manifest("proposals") as m:
        m.append(proposal_row(tmp_path, 0))
    stats = quality_report([WorkDir(tmp_path)], tmp_path / "report")
    assert stats.kept == 0 and "No reviewed frame to compare yet" in stats.info["markdown"]
    assert not (tmp_path / "report" / "proposal_quality.png").exists()

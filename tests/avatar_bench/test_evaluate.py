"""evaluate(): against the per-frame reference, across inputs, workers and scenario subsets."""

import json
import math

import numpy as np
import pytest

from avatar_bench import rle
from avatar_bench.errors import AvatarFormatError, SubmissionError
from avatar_bench.evaluate import evaluate
from avatar_bench.format import AvatarDataset
from avatar_bench.submission import open_submission, write_submission
from avatar_bench.testing import make_gt, make_submission
from tests.avatar_bench.reference import ref_summary

CONTRACT_KEYS = {"single_ciou", "single_auc", "mixed_ciou", "multi_entity_ciou", "off_screen_tn", "total_ciou",
                 "cross_event_ciou", "cross_event_delta", "offscreen_auroc", "n_frames"}


def assert_summary_equal(summary, expected):
    for key, value in expected.items():
        got = summary[key]
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(got), key
        else:
            assert got == pytest.approx(value, abs=1e-9), key


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_submissions_match_the_slow_reference(seed):
    rng = np.random.default_rng(seed)
    gt = make_gt(14, width=40, height=24, seed=seed, frames_per_video=2)
    heatmaps = {}
    for im in gt.images:  # random resolutions (up and down), ties, soft maps
        h, w = rng.integers(4, 50, size=2)
        heat = rng.random((h, w)).astype(np.float32)
        heatmaps[im.id] = np.round(heat * 4) / 4 if im.id % 3 == 0 else heat
    for mode, tau in (("relative", 0.5), ("absolute", float(rng.uniform(0.3, 0.7)))):
        result = evaluate(gt, heatmaps, binarize=mode, tau=tau)
        assert CONTRACT_KEYS <= set(result.summary)
        assert_summary_equal(result.summary, ref_summary(gt, heatmaps, mode, tau))


def test_controlled_quality_submissions():
    gt = make_gt(30, width=64, height=36, seed=5)
    perfect = evaluate(gt, make_submission(gt, "perfect")).summary
    assert perfect["total_ciou"] == 100 and perfect["single_auc"] == 100 and perfect["off_screen_tn"] == 100
    assert perfect["offscreen_auroc"] == 100 and perfect["cross_event_delta"] == 0
    shifted = evaluate(gt, make_submission(gt, "shifted", shift=0.5)).summary
    assert shifted["total_ciou"] < 50 and 0 < shifted["total_auc"] < 50
    empty = evaluate(gt, make_submission(gt, "empty"), binarize="absolute").summary
    assert empty["total_ciou"] == 0 and empty["off_screen_tn"] == 100 and empty["offscreen_auroc"] == 50
    twin = evaluate(gt, make_submission(gt, "silent_twin")).summary
    assert twin["single_ciou"] == 100 and twin["multi_entity_ciou"] < 50


def test_files_and_workers_give_the_same_result_as_memory(tmp_path):
    gt = make_gt(80, width=64, height=36, seed=6)
    sub = make_submission(gt, "blob", size=(20, 30), keys="name")
    path = write_submission(tmp_path / "sub.npz", sub)
    base = evaluate(gt, sub).summary
    assert evaluate(gt, path, workers=1).summary == base
    assert evaluate(gt, path, workers=2).summary == base
    assert evaluate(gt, open_submission(path, gt)).summary == base


def test_validation_happens_before_any_score_even_in_workers(tmp_path):
    gt = make_gt(80, width=32, height=18, seed=7)
    heat = dict(make_submission(gt, "noise", size=(8, 8)).items())
    heat[3] = np.full((8, 8), np.nan, np.float32)
    heat[77] = np.zeros((2, 8, 8), np.float32)
    del heat[50]
    path = write_submission(tmp_path / "bad.npz", heat, validate=False)
    with pytest.raises(SubmissionError) as err:
        evaluate(gt, path, workers=2)
    text = str(err.value)
    assert "3 problem(s)" in text and "(image 3)" in text and "(image 77)" in text and "(image 50): missing" in text


def test_scenario_subset_scores_only_those_frames():
    gt = make_gt(30, width=48, height=27, seed=8)
    sub = {k: v for k, v in make_submission(gt, "perfect").items() if gt.image_by_id[k].scenario == "mixed"}
    s = evaluate(gt, sub, scenarios=["mixed"]).summary
    assert s["mixed_ciou"] == 100 and s["n_frames"] == s["n_mixed"] == len(sub)
    assert math.isnan(s["single_ciou"]) and math.isnan(s["off_screen_tn"]) and math.isnan(s["offscreen_auroc"])
    with pytest.raises(ValueError, match="expected scenarios"):
        evaluate(gt, sub, scenarios=["loud"])
    with pytest.raises(ValueError, match="tau"):
        evaluate(gt, sub, tau=2)


def test_unscorable_ground_truth_is_refused():
    gt = make_gt(10, width=32, height=18, seed=9)
    d = gt.to_dict()
    target = next(im for im in d["images"] if im["scenario"] == "single")
    for a in d["annotations"]:
        if a["image_id"] == target["id"] and a["sounding"]:
            a["segmentation"] = rle.encode(np.zeros((18, 32), bool))
    broken = AvatarDataset.from_dict(d)
    with pytest.raises(AvatarFormatError, match=f"image {target['id']} .*no sounding instance with a non-empty"):
        evaluate(broken, make_submission(broken, "noise"))
    for a in d["annotations"]:  # no sounding instance at all: refused before anything is read
        if a["image_id"] == target["id"]:
            a["sounding"] = False
    broken = AvatarDataset.from_dict(d)
    with pytest.raises(AvatarFormatError, match=f"image {target['id']} "):
        evaluate(broken, {})


def test_result_dict_is_strict_json_with_settings(tmp_path):
    gt = make_gt(10, width=32, height=18, seed=10)
    sub = {k: v for k, v in make_submission(gt, "noise").items() if gt.image_by_id[k].scenario == "single"}
    result = evaluate(gt, sub, scenarios=["single"], binarize="absolute", tau=0.3)
    text = json.dumps(result.to_dict(), allow_nan=False)
    back = json.loads(text)
    assert back["settings"]["binarize"] == "absolute" and back["settings"]["tau"] == 0.3
    assert back["settings"]["scenarios"] == ["single"] and back["summary"]["mixed_ciou"] is None
    assert len(back["curves"]["tn_vs_tau"]["tau"]) == 21 and len(result.frames) == len(sub)


def test_default_workers_follow_the_idle_cores(monkeypatch):
    from avatar_bench import engine

    monkeypatch.setattr(engine, "available_cpus", lambda: 2)
    for load, expected in ((0.2, 2), (1.0, 2), (2.0, 1), (5.0, 1)):
        monkeypatch.setattr(engine.os, "getloadavg", lambda load=load: (load, load, load))
        assert engine.idle_cpus() == expected, load

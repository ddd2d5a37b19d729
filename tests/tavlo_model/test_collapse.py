"""Mean-pooled negatives collapse from scratch at the tiny CPU size; the label-free guard reports it."""

from __future__ import annotations

import logging
import math

import pytest

from avatar_bench.format import AvatarDataset
from tavlo_model.collapse import chance_loss, collapse_check
from tavlo_model.config import TrainConfig, update
from tavlo_model.registry import model_config
from tavlo_model.testing import make_toy_dataset
from tavlo_model.train import train

from .conftest import TINY


def test_collapse_check_by_hand():
    assert chance_loss(1) == pytest.approx(2 * math.log(2)) and chance_loss(7) == pytest.approx(2 * math.log(8))
    # loss 0.01 of a chance 1.386 (0.7%), matched peaks 0.33 tau above mismatched ones: collapsed
    got = collapse_check(0.01, 0.50, 0.49, 0.03, 1)
    assert got["collapsed"] and got["loss_share"] == pytest.approx(0.01 / 1.3863, rel=1e-3)
    assert got["peak_gap"] == pytest.approx(1 / 3)
    assert not collapse_check(0.01, 0.56, 0.49, 0.03, 1)["collapsed"]  # 2.3 tau apart: the peaks say something
    assert not collapse_check(1.0, 0.50, 0.50, 0.03, 1)["collapsed"]  # 72% of chance: not "~0"
    assert not collapse_check(math.nan, 0.5, 0.5, 0.03, 1)["collapsed"]  # no validation loss: no claim


@pytest.fixture(scope="module")
def toy10(tmp_path_factory):
    return make_toy_dataset(tmp_path_factory.mktemp("toy10"), n_videos=10)  # 6 train, 2 val, 2 test videos


def _run(root, out, negatives: str) -> dict:
    cfg = TrainConfig(model=model_config("tavlo_r18_t4", **TINY, negatives=negatives))
    update(cfg, {"data": {"root": str(root), "num_workers": 0}, "out_dir": str(out), "batch_size": 2, "epochs": 5,
                 "eval_every": 5, "seed": 0, "log_every": 100})
    return train(cfg)


def test_mean_negatives_collapse_and_the_guard_says_so(toy10, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="tavlo_model.train")
    summary = _run(toy10, tmp_path / "mean", "mean")
    val = summary["val"]
    at_zero = val["loss_share"] < 0.05
    heatmaps_at_chance = val["total_ciou"] == 0.0 and val["peak_gap"] < 1.0
    assert at_zero and heatmaps_at_chance  # the collapse happens at this size (15 steps from scratch) ...
    assert summary["collapsed"] and val["collapsed"] == 1.0  # ... and is never silent
    assert "collapsed: the loss is" in caplog.text
    assert len(AvatarDataset.load(toy10 / "annotations" / "val.json").images) == 6


def test_max_negatives_are_not_flagged(toy10, tmp_path):
    summary = _run(toy10, tmp_path / "max", "max")
    assert not summary["collapsed"] and summary["val"]["loss_share"] > 0.05

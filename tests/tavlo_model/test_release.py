"""TAVLO on the released benchmark's inputs: a training list (vggsound_10k.txt) filters the training clips, and
tavlo-infer writes a submission for an imported release keyed the release's way."""

from __future__ import annotations

import logging

import pytest

from avatar_bench.cli import main as eval_main
from avatar_bench.format import AvatarDataset
from avatar_bench.submission import open_submission
from avatar_bench.testing.release_fixture import write_release
from tavlo_model.config import DataConfig
from tavlo_model.data import training_items
from tavlo_model.errors import TavloError
from tavlo_model.infer import main as infer_main
from tavlo_model.train import train

from .conftest import tiny_train_config


@pytest.mark.parametrize("lines, expected, fmt", [
    ("sy000000000\nsy000000003\n", ["sy000000000_000000", "sy000000003_000000"], "format ytid"),
    ("sy000000001_00000\n", ["sy000000001_000000"], "format ytid_start"),
    ("sy000000002,0,beeper,train\nsy000000002,5\n", ["sy000000002_000000"], "format csv"),
])
def test_a_training_list_filters_the_csv_clips(toy_root, tmp_path, caplog, lines, expected, fmt):
    listed = tmp_path / "vggsound_10k.txt"
    listed.write_text(lines, encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="tavlo_model.data"):
        items = training_items(DataConfig(csv=str(toy_root / "vggsound.csv"), videos=str(toy_root / "videos"),
                                          train_list=str(listed)))
    assert [it.name for it in items] == expected and fmt in caplog.text


def test_a_training_list_alone_picks_from_the_videos_folder(toy_root, tmp_path, caplog):
    listed = tmp_path / "list.txt"
    listed.write_text("sy000000004_000000\nsy000000005\nnot an id!\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="tavlo_model.data"):
        items = training_items(DataConfig(videos=str(toy_root / "videos"), train_list=str(listed)))
    assert [it.name for it in items] == ["sy000000004_000000", "sy000000005_000000"]
    assert "1 bad line(s)" in caplog.text
    listed.write_text("zzzzzzzzzzz\n", encoding="utf-8")
    with pytest.raises(TavloError, match="none of its 1 entries"):
        training_items(DataConfig(videos=str(toy_root / "videos"), train_list=str(listed)))
    with pytest.raises(TavloError, match="cannot be read"):
        training_items(DataConfig(videos=str(toy_root / "videos"), train_list=str(tmp_path / "missing.txt")))


def test_infer_on_an_imported_release_writes_release_keys(toy_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AVATAR_HOME", str(tmp_path / "home"))
    gt = AvatarDataset.load(toy_root / "annotations" / "test.json")
    fx = write_release(gt, tmp_path / "AVATAR", videos_src=toy_root / "videos", images="none")
    train(tiny_train_config(toy_root, tmp_path / "run", max_steps=1, eval_every=0))
    sub = tmp_path / "sub.npz"
    assert infer_main(["--ckpt", str(tmp_path / "run" / "last.pt"), "--gt", str(fx.metadata), "--videos",
                       str(fx.videos), "--out", str(sub), "--workers", "0"]) == 0
    import numpy as np

    with np.load(sub) as z:
        assert sorted(z.files) == sorted(fx.keys.values())  # <folder>/<frame:05d>
    from avatar_bench.release import load_release

    ds, _ = load_release(fx.metadata)
    assert len(open_submission(sub, ds)) == len(gt.images)
    assert eval_main(["--gt", str(fx.metadata), "--pred", str(sub), "-q"]) == 0
    assert "off-screen    TN" in capsys.readouterr().out

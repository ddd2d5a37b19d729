"""Protocol presets of avatar-eval on hand-computed frames: lvs-native (default) and peers-224."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avatar_bench import rle
from avatar_bench.cli import main
from avatar_bench.evaluate import evaluate
from avatar_bench.format import Annotation, AvatarDataset, Category, Image, Video
from avatar_bench.metrics.functional import resize_bilinear
from avatar_bench.protocols import PROTOCOLS, Protocol, get_protocol


def one_frame(mask: np.ndarray, scenario: str = "single") -> AvatarDataset:
    h, w = mask.shape
    seg = rle.encode(mask)
    return AvatarDataset(
        categories=[Category(id=1, name="dog")], videos=[Video(id=1, name="abcdefghijk_00001", width=w, height=h)],
        images=[Image(id=1, video_id=1, width=w, height=h, frame_index=3, scenario=scenario,
                      sounding_category_ids=[1])],
        annotations=[Annotation(id=1, image_id=1, video_id=1, category_id=1, segmentation=seg, sounding=True,
                                area=float(rle.area(seg)), bbox=rle.bbox(seg))])


def iou(gt, heat, protocol, **kw) -> float:
    return float(evaluate(gt, {1: heat}, protocol=protocol, **kw).frames.iou[0])


def test_the_relative_rules_differ_by_the_pixels_tied_at_the_median():
    gt_mask = np.zeros((4, 4), bool)
    gt_mask[:, :3] = True  # 12 pixels
    heat = np.zeros((4, 4), np.float32)
    heat[:, 0], heat[:, 1] = 1.0, 0.5  # sorted: 8 zeros, 4 halves, 4 ones -> value at position 8 is 0.5
    gt = one_frame(gt_mask)
    lvs = evaluate(gt, {1: heat}, protocol="lvs-native")
    ge = evaluate(gt, {1: heat}, protocol=Protocol("ge-native", "", relative_rule="ge"))
    assert lvs.frames.iou[0] == pytest.approx(4 / 12)  # > 0.5 plus the max: column 0
    assert ge.frames.iou[0] == pytest.approx(8 / 12)  # >= 0.5: columns 0 and 1
    assert (lvs.summary["single_ciou"], ge.summary["single_ciou"]) == (0.0, 100.0)
    assert lvs.summary["single_auc"] == pytest.approx(32.5) and ge.summary["single_auc"] == pytest.approx(67.5)
    assert iou(gt, heat, "lvs-native", binarize="absolute", tau=0.5) == pytest.approx(8 / 12)  # >= tau in both


def test_peers_224_resizes_gt_and_heatmap_to_224():
    gt_mask = np.zeros((448, 448), bool)
    gt_mask[:, :224] = True
    heat = np.zeros((224, 224), np.float32)
    heat[:, :112] = 1.0
    gt = one_frame(gt_mask)
    # at 224 the GT is exactly the left 112 columns (each output pixel averages input pixels 2x and 2x+1), and the
    # map needs no resize: >= its median (the first 1) is exactly the GT
    assert iou(gt, heat, "peers-224") == 1.0
    # natively the 224 map is upsampled to 448: columns 223 and 224 get 0.75 and 0.25; the median (position
    # 224*448) is 0.75 < max, so LVS keeps the 223 columns > 0.75 of the GT's 224
    assert iou(gt, heat, "lvs-native") == pytest.approx(223 / 224)
    result = evaluate(gt, {1: heat}, protocol="peers-224")
    assert result.settings["protocol"]["name"] == "peers-224" and result.settings["protocol"]["size"] == [224, 224]
    assert "224x224" in result.settings["resize"] and ">=" in result.settings["relative_threshold"]
    assert evaluate(gt, {1: heat}).settings["protocol"]["name"] == "lvs-native"  # the default


def test_a_gt_that_vanishes_at_224_counts_as_a_miss():
    dot = np.zeros((360, 640), bool)
    dot[101, 101] = True
    assert resize_bilinear(dot.view(np.uint8), 224, 224).max() < 0.5  # this pixel falls between 224-grid centres
    gt = one_frame(dot)
    heat = np.zeros((360, 640), np.float32)
    heat[101, 101] = 1.0
    assert iou(gt, heat, "lvs-native") == 1.0
    result = evaluate(gt, {1: heat}, protocol="peers-224")
    assert result.summary["n_gt_vanished"] == 1 and result.summary["single_ciou"] == 0.0
    assert evaluate(gt, {1: heat}).summary["n_gt_vanished"] == 0


def test_protocol_registry_and_cli(tmp_path, capsys):
    assert sorted(PROTOCOLS) == ["lvs-native", "peers-224"] and get_protocol(None).name == "lvs-native"
    with pytest.raises(ValueError, match="expected a protocol among"):
        get_protocol("nope")
    with pytest.raises(ValueError, match="relative_rule"):
        Protocol("x", "", relative_rule="gt")
    gt_mask = np.zeros((36, 64), bool)
    gt_mask[5:20, 10:30] = True
    one_frame(gt_mask).save(tmp_path / "gt.json")
    np.savez(tmp_path / "sub.npz", **{"1": gt_mask.astype(np.float32)})
    out = tmp_path / "r"
    assert main(["--gt", str(tmp_path / "gt.json"), "--pred", str(tmp_path / "sub.npz"), "--protocol", "peers-224",
                 "--out", str(out), "--no-plots", "-q"]) == 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["settings"]["protocol"]["relative_rule"] == "ge"
    # a binary map that is mostly 0 has the median 0, and ">= the median" keeps the whole frame: IoU = |G| / 224^2
    g224 = int((resize_bilinear(gt_mask.view(np.uint8), 224, 224) >= 0.5).sum())
    assert saved["summary"]["single_auc"] == pytest.approx(evaluate(
        one_frame(gt_mask), {1: gt_mask.astype(np.float32)}, protocol="peers-224").summary["single_auc"])
    assert evaluate(one_frame(gt_mask), {1: gt_mask.astype(np.float32)}, protocol="peers-224").frames.iou[0] == \
        pytest.approx(g224 / 224**2)
    assert main(["--gt", str(tmp_path / "gt.json"), "--pred", str(tmp_path / "sub.npz"), "--protocol", "peers-224",
                 "--binarize", "absolute", "--out", str(out), "--no-plots", "-q"]) == 0
    assert json.loads((out / "results.json").read_text())["summary"]["single_ciou"] == 100.0
    with pytest.raises(SystemExit):
        main(["--gt", "x", "--pred", "y", "--protocol", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err

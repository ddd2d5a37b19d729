"""Metric functions: hand-computed cases, the resize, the exact median, AUROC against pairwise counting."""

import math

import cv2
import numpy as np
import pytest

from avatar_bench.metrics import functional as F
from avatar_bench.metrics.classes import REGISTRY, FrameTable, Metric, compute_summary, register
from tests.avatar_bench.reference import ref_auc, ref_auroc, ref_iou


def iou_of(heat, gt, mode="relative", tau=0.5):
    inter, pred, g, _ = F.frame_counts(F.resize_bilinear(heat, *gt.shape), gt, mode, tau)
    return float(F.iou_from_counts([inter], [pred], [g])[0])


def box(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


# ------------------------------------------------------------------------------------------- hand-computed
def test_perfect_hit_is_iou_one_in_both_modes_whatever_the_mask_size():
    for area in ((2, 5), (0, 10), (0, 20)):  # small, half, and more than half of the frame
        gt = box(10, 20, 0, 10, *area)
        assert iou_of(gt.astype(np.float32), gt) == 1.0
        assert iou_of(gt.astype(np.float32), gt, "absolute") == 1.0


def test_empty_heatmap_predicts_the_whole_frame_relative_and_nothing_absolute():
    gt = box(20, 20, 0, 10, 0, 10)  # 100 of 400 pixels
    zeros = np.zeros((7, 7), np.float32)
    assert iou_of(zeros, gt) == pytest.approx(100 / 400)  # constant map: every pixel equals the max
    assert iou_of(zeros, gt, "absolute") == 0.0


def test_half_overlap():
    gt = box(10, 20, 0, 10, 0, 10)  # columns 0-9
    heat = box(10, 20, 0, 10, 5, 15).astype(np.float32)  # columns 5-14: 50 shared, 150 in the union
    assert iou_of(heat, gt) == pytest.approx(1 / 3)
    assert iou_of(heat, gt, "absolute") == pytest.approx(1 / 3)


def test_ties_at_the_median_follow_lvs_strictly_above():
    # 16 pixels: six 0.1, four 0.5, six 0.9 -> sorted[8] = 0.5; LVS keeps > 0.5 (six pixels), EZ-VSL's >= ten.
    heat = np.array([0.1] * 6 + [0.5] * 4 + [0.9] * 6, np.float32).reshape(4, 4)
    pred = F.binarize(F.resize_bilinear(heat, 4, 4))
    assert pred.sum() == 6 and np.array_equal(pred, heat == np.float32(0.9))
    # Median equal to the max (over half the map ties at the top): the pixels equal to the max are kept.
    heat2 = np.array([0.3] * 7 + [0.8] * 9, np.float32).reshape(4, 4)
    assert np.array_equal(F.binarize(F.resize_bilinear(heat2, 4, 4)), heat2 == np.float32(0.8))


def test_absolute_threshold_is_inclusive():
    heat = np.array([[0.5, 0.49], [0.51, 0.0]], np.float32)
    assert F.binarize(heat, "absolute", 0.5).tolist() == [[True, False], [True, False]]


def test_multi_entity_heatmap_on_the_silent_twin_scores_zero():
    sounding = box(20, 40, 5, 15, 2, 12)
    silent_twin = box(20, 40, 5, 15, 25, 35)
    assert iou_of(silent_twin.astype(np.float32), sounding) == 0.0
    assert iou_of(sounding.astype(np.float32), sounding) == 1.0


def test_off_screen_frames_are_scored_by_tn_not_iou():
    inter, pred, g, top = F.frame_counts(np.full((4, 4), 0.4, np.float32), None)
    assert (inter, pred, g) == (0, 0, 0) and top == pytest.approx(0.4)
    table = FrameTable.from_columns(image_id=[1, 2, 3, 4], scenario=["off_screen", "off_screen", "single", "single"],
                                    cross_event=[False] * 4, inter=[0, 0, 10, 0], pred_area=[0, 0, 10, 10],
                                    gt_area=[0, 0, 10, 10], score=[0.4, 0.6, 0.9, 0.6])
    assert math.isnan(table.iou[0]) and table.iou[2] == 1.0
    s = compute_summary(table, {"tau": 0.5})
    assert s["off_screen_tn"] == 50.0  # 0.4 < 0.5 is a true negative, 0.6 is not
    assert s["offscreen_auroc"] == 87.5  # pairs: 0.9>0.4, 0.9>0.6, 0.6>0.4, 0.6=0.6 (half) -> 3.5 / 4
    assert s["single_ciou"] == 50.0 and s["n_frames"] == 4 and s["n_off_screen"] == 2


def test_ciou_counts_iou_of_exactly_half_and_auc_by_hand():
    assert F.ciou(np.array([0.5, 0.49999])) == 50.0
    # IoUs {1, 0}: success 1 at t=0, then 0.5 up to t=1 (1 >= 1) -> 0.05*(1+0.5)/2 + 0.95*0.5 = 0.5125.
    assert F.auc(np.array([1.0, 0.0])) == pytest.approx(51.25, abs=1e-12)
    assert math.isnan(F.ciou(np.array([]))) and math.isnan(F.auc(np.array([])))


def test_iou_zero_division_policy():
    assert math.isnan(F.iou_from_counts([0], [0], [0])[0])
    assert F.iou_from_counts([0], [0], [0], zero_division=0.0)[0] == 0.0


# ------------------------------------------------------------------------------------- seeded vs reference
@pytest.mark.parametrize("seed", range(6))
def test_random_frames_match_the_pixel_loop_reference(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(8, 30, size=2)
    gt = rng.random((h, w)) < rng.uniform(0.05, 0.6)
    gt[0, 0] = True
    size = tuple(rng.integers(3, 40, size=2))  # up- and down-scaling
    heat = rng.random(size).astype(np.float32)
    if seed % 2:
        heat = np.round(heat * 3) / 3  # heavy ties
    for mode, tau in (("relative", 0.5), ("absolute", float(rng.uniform(0.2, 0.8)))):
        assert iou_of(heat, gt, mode, tau) == pytest.approx(ref_iou(heat, gt, mode, tau), abs=1e-9)


def test_resize_is_half_pixel_bilinear_and_matches_cv2():
    rng = np.random.default_rng(0)
    heat = rng.random((7, 11)).astype(np.float32)
    out = F.resize_bilinear(heat, 13, 5)
    assert out.shape == (13, 5) and out.dtype == np.float32 and out.flags.f_contiguous

    def src(i, n_out, n_in):  # half-pixel centres, clamped at the edges
        x = min(max((i + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1)
        x0 = int(math.floor(x))
        return x0, min(x0 + 1, n_in - 1), x - x0

    for y in range(13):
        y0, y1, fy = src(y, 13, 7)
        for x in range(5):
            x0, x1, fx = src(x, 5, 11)
            top = heat[y0, x0] * (1 - fx) + heat[y0, x1] * fx
            bottom = heat[y1, x0] * (1 - fx) + heat[y1, x1] * fx
            assert out[y, x] == pytest.approx(top * (1 - fy) + bottom * fy, abs=1e-5)
    np.testing.assert_allclose(out, cv2.resize(heat, (5, 13), interpolation=cv2.INTER_LINEAR), atol=1e-6)
    assert F.resize_bilinear(heat, 7, 11) is not heat and np.array_equal(F.resize_bilinear(heat, 7, 11), heat)


@pytest.mark.parametrize("kind", ["uniform", "ties", "constant", "binary", "sorted", "sample_misses"])
def test_kth_smallest_is_exact(kind):
    rng = np.random.default_rng(1)
    n = 360 * 640
    a = {
        "uniform": lambda: rng.random(n, dtype=np.float32),
        "ties": lambda: (rng.integers(0, 7, n) / 6).astype(np.float32),
        "constant": lambda: np.full(n, 0.25, np.float32),
        "binary": lambda: (rng.random(n) < 0.3).astype(np.float32),
        "sorted": lambda: np.sort(rng.random(n, dtype=np.float32)),
        # The strided sample sees only zeros while the median is not zero: the bracket fails, fall back.
        "sample_misses": lambda: np.where(np.arange(n) % (n // 4096) == 0, 0, 1 + np.arange(n) % 5).astype(np.float32),
    }[kind]()
    expected = np.sort(a)
    for k in (0, n // 2, n - 1, n // 3):
        assert F.kth_smallest(a, k) == expected[k]
    with pytest.raises(IndexError):
        F.kth_smallest(a, n)


def test_auroc_matches_pairwise_counting_with_ties():
    rng = np.random.default_rng(3)
    for _ in range(5):
        pos = np.round(rng.random(int(rng.integers(1, 40))), 1)
        neg = np.round(rng.random(int(rng.integers(1, 40))) * 0.8, 1)
        assert F.auroc(pos, neg) == pytest.approx(ref_auroc(pos.tolist(), neg.tolist()), abs=1e-9)
    assert math.isnan(F.auroc([], [0.1])) and F.auroc([1.0], [0.0]) == 100.0


def test_success_auc_and_tn_curves_match_reference():
    rng = np.random.default_rng(4)
    ious = rng.random(50)
    ious[:5] = [0.0, 0.05, 0.15, 0.5, 1.0]  # exactly on thresholds
    assert F.auc(ious) == pytest.approx(ref_auc(ious.tolist()), abs=1e-9)
    scores = rng.random(30)
    np.testing.assert_allclose(F.tn_curve(scores), [100 * np.mean(scores < t) for t in F.TAU_GRID])
    assert F.tn_rate(scores, 0.3) == pytest.approx(100 * np.mean(scores < 0.3))


def test_registry_declares_fields_and_refuses_duplicate_names():
    assert {"count", "ciou", "auc", "tn", "auroc", "cross_event_delta"} <= set(REGISTRY)
    assert all(cls.fields and cls.subsets for cls in REGISTRY.values())
    with pytest.raises(ValueError, match="already registered"):
        register(type("Dup", (Metric,), {"name": "ciou", "fields": ("x",), "subsets": ("all",)}))

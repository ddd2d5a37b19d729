"""The proposal-quality numbers on hand-computed frames, and the matching against a slow obvious reference."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.report.metrics import FrameOutcome, Inst, Side, box_mask, compare_frame, iou, match, summarize

G = ("b1", "yolo|sam")


def cols(*columns: int, rows: range = range(4), shape=(4, 4)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for c in columns:
        mask[list(rows), c] = True
    return mask


def test_a_proposal_kept_as_it_is_is_accepted_unchanged():
    dog, car = Inst(cols(0), "dog", True, ident=1), Inst(cols(3), "car", False, ident=2)
    prop = Side([dog, car], "single", frozenset({"dog"}))
    out = compare_frame(G, prop, Side([car, dog], "single", frozenset({"dog"})), lead_time_s=4.0)
    assert (out.ious, out.sounding_kept, out.added, out.removed, out.unchanged) == ([1.0, 1.0], 2, 0, 0, True)
    assert out.scenario_agrees and out.lead_time_s == 4.0
    # any one change makes the frame not unchanged
    assert not compare_frame(G, prop, Side([car, dog], "single", frozenset({"dog", "car"}))).unchanged  # heard
    assert not compare_frame(G, prop, Side([car, dog], "mixed", frozenset({"dog"}))).unchanged  # scenario
    relabelled = Inst(cols(0), "cat", True, ident=1)
    assert not compare_frame(G, prop, Side([relabelled, car], "single", frozenset({"dog"}))).unchanged


def test_an_edited_frame_by_hand():
    # proposal: dog (columns 0-1, sounding) and car (column 3, silent); the annotator widens the dog to columns
    # 0-2 (IoU 8/12), marks it silent, deletes the car, adds a drum, and calls the frame off screen
    prop = Side([Inst(cols(0, 1), "dog", True, ident=1), Inst(cols(3), "car", False, ident=2)], "single",
                frozenset({"dog"}))
    verified = Side([Inst(cols(0, 1, 2), "dog", False, ident=1), Inst(cols(3, rows=range(2)), "drum", False)],
                    "off_screen", frozenset({"dog"}))
    out = compare_frame(G, prop, verified)
    # the drum (column 3, rows 0-1) overlaps the deleted car by 2/4 = 0.5: the greedy stage pairs them
    assert out.ious == pytest.approx([8 / 12, 0.5]) and out.sounding_kept == 1
    assert (out.added, out.removed, out.scenario_agrees, out.unchanged) == (0, 0, False, False)
    verified = Side([Inst(cols(0, 1, 2), "dog", False, ident=1), Inst(cols(3, rows=range(1)), "drum", False)],
                    "off_screen", frozenset({"dog"}))
    out = compare_frame(G, prop, verified)  # a drum overlapping the car by 1/4 only: a new instance
    assert out.ious == pytest.approx([8 / 12]) and (out.sounding_kept, out.added, out.removed) == (0, 1, 1)


def test_a_box_proposal_is_compared_as_its_box_and_matched_by_iou():
    box = box_mask([0, 0, 2, 4], 4, 4)  # columns 0-1: 8 pixels
    assert (box == cols(0, 1)).all()
    prop = Side([Inst(box, "dog", True, ident=1, from_box=True)], "single", frozenset({"dog"}))
    painted = Side([Inst(cols(0, 1, rows=range(3)), "dog", True)], "single", frozenset({"dog"}))  # no id: redrawn
    out = compare_frame(G, prop, painted)
    assert out.ious == [0.75] and out.box_only == 1 and (out.added, out.removed) == (0, 0) and not out.unchanged
    # pixel centres decide: [0.5, 2.5) x [0.5, 1.5) holds the centres of columns 0-1 of row 0
    assert np.argwhere(box_mask([0.5, 0.5, 2, 1], 3, 4)).tolist() == [[0, 0], [0, 1]]
    assert not box_mask([5, 5, 2, 2], 3, 4).any()  # outside the frame: empty


def test_identity_comes_first_then_the_best_overlap():
    p0, p1 = Inst(cols(0, 1), "dog", True, ident=1), Inst(cols(1, 2), "dog", False, ident=2)
    v = Inst(cols(1, 2, rows=range(3)), "dog", True)  # IoU with p0: 3/11, with p1: 6/8
    assert match([p0, p1], [v]) == [(1, 0, 0.75)]
    kept = Inst(cols(3), "dog", True, ident=1)  # p0's region, repainted elsewhere: identity wins (IoU 0)
    assert match([p0, p1], [kept, v]) == [(0, 0, 0.0), (1, 1, 0.75)]
    assert match([p0], [v], min_iou=0.2) == [(0, 0, pytest.approx(3 / 11))]


def _slow_iou(a, b) -> float:
    inter = union = 0
    for y in range(a.shape[0]):
        for x in range(a.shape[1]):
            inter += bool(a[y, x] and b[y, x])
            union += bool(a[y, x] or b[y, x])
    return inter / union if union else 1.0


def _slow_match(proposed, verified, min_iou=0.5):
    pairs, left_p, left_v = [], set(range(len(proposed))), set(range(len(verified)))
    for j in sorted(left_v):
        same = [i for i in sorted(left_p) if verified[j].ident is not None and proposed[i].ident == verified[j].ident]
        if same:
            pairs.append((same[0], j, _slow_iou(proposed[same[0]].mask, verified[j].mask)))
            left_p.discard(same[0])
            left_v.discard(j)
    while left_p and left_v:
        best = max((_slow_iou(proposed[i].mask, verified[j].mask), -i, -j) for i in left_p for j in left_v)
        if best[0] < min_iou:
            break
        i, j = -best[1], -best[2]
        pairs.append((i, j, best[0]))
        left_p.discard(i)
        left_v.discard(j)
    return sorted(pairs)


@pytest.mark.parametrize("seed", range(12))
def test_matching_agrees_with_a_slow_reference(seed):
    rng = np.random.default_rng(seed)

    def blob():
        mask = np.zeros((12, 12), bool)
        y, x, h, w = rng.integers(0, 8), rng.integers(0, 8), rng.integers(2, 6), rng.integers(2, 6)
        mask[y:y + h, x:x + w] = True
        return mask

    proposed = [Inst(blob(), "dog", True, ident=k + 1) for k in range(rng.integers(0, 5))]
    verified = [Inst(blob(), "dog", True, ident=int(rng.integers(1, 7)) if rng.random() < 0.4 else None)
                for _ in range(rng.integers(0, 5))]
    for p in proposed:
        for v in verified:
            assert iou(p.mask, v.mask) == pytest.approx(_slow_iou(p.mask, v.mask))
    got, want = match(proposed, verified), _slow_match(proposed, verified)
    assert [(i, j) for i, j, _ in got] == [(i, j) for i, j, _ in want]
    assert [v for *_, v in got] == pytest.approx([v for *_, v in want])


def test_summary_by_hand():
    a = FrameOutcome(G, lead_time_s=10.0, ious=[1.0, 1.0], sounding_kept=2, scenario_agrees=True, unchanged=True)
    b = FrameOutcome(G, lead_time_s=20.0, ious=[2 / 3], sounding_kept=0, added=1, removed=1)
    rejected = FrameOutcome(G, rejected=True, lead_time_s=3.0)
    untimed = FrameOutcome(G, scenario_agrees=True, unchanged=True, box_only=1)
    s = summarize([a, b, rejected, untimed])
    assert (s.frames, s.kept, s.rejected, s.pairs, s.added, s.removed, s.timed, s.box_only) == (4, 3, 1, 3, 1, 1, 3, 1)
    assert s.unchanged == pytest.approx(2 / 3) and s.scenario == pytest.approx(2 / 3)
    assert s.mask_iou == pytest.approx((1 + 1 + 2 / 3) / 3) and s.mask_iou_median == 1.0
    assert s.sounding == pytest.approx(2 / 3) and s.seconds == pytest.approx(11.0) and s.seconds_median == 10.0
    empty = summarize([rejected])
    assert (empty.unchanged, empty.mask_iou, empty.scenario, empty.sounding) == (None, None, None, None)
    assert empty.seconds == 3.0 and summarize([]).frames == 0

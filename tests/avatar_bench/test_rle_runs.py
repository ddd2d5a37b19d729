"""The exact RLE run check: the vectorised decoder of compressed counts against a slow, obvious reference
(pycocotools' ``rleFrString`` in plain Python), pycocotools itself on real masks, and the property of the
issue: any RLE whose runs do not cover exactly H·W pixels is refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from avatar_bench import rle
from tests.avatar_bench.bad_inputs import encode_runs


def ref_runs(counts: str) -> list[int] | None:
    """pycocotools' rleFrString, character by character; None where the string is not a run list."""
    runs: list[int] = []
    p = 0
    while p < len(counts):
        x, k, more = 0, 0, True
        while more:
            if p >= len(counts) or k >= rle.MAX_RUN_CHARS:
                return None  # the last run is cut / a run of too many characters
            c = ord(counts[p]) - 48
            if not 0 <= c < 64:
                return None
            x |= (c & 0x1F) << 5 * k
            more = bool(c & 0x20)
            p, k = p + 1, k + 1
            if not more and c & 0x10:
                x |= -1 << 5 * k
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


RUNS = st.lists(st.integers(-40, 5000), max_size=40)
ALPHABET = st.text(alphabet=st.characters(min_codepoint=40, max_codepoint=120), max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(RUNS.map(encode_runs), ALPHABET), min_size=1, max_size=12))
def test_vectorised_runs_equal_the_reference(strings):
    stats = rle.run_stats(strings)
    for s, pixels, area, defect in zip(strings, stats.pixels, stats.area, stats.defect, strict=True):
        ref = ref_runs(s)
        if ref is None or min(ref, default=0) < 0:
            assert defect is not None, s
        else:
            assert defect is None, (s, defect)
            assert (pixels, area) == (sum(ref), sum(ref[1::2])), s


@settings(max_examples=300, deadline=None)
@given(runs=st.lists(st.integers(0, 300), min_size=1, max_size=30), h=st.integers(1, 60), w=st.integers(1, 60))
def test_any_rle_whose_runs_are_not_h_times_w_is_refused(runs, h, w):
    counts = encode_runs(runs)
    why = rle.is_valid({"size": [h, w], "counts": counts})
    if sum(runs) == h * w:
        assert why is None
        assert mask_utils.area({"size": [h, w], "counts": counts.encode()}) == sum(runs[1::2])
    else:
        assert why is not None and f"runs cover {sum(runs)} pixels, expected H·W = {h}·{w}" in why


def test_real_masks_agree_with_pycocotools():
    rng = np.random.default_rng(0)
    rles, masks = [], []
    for i in range(400):
        h, w = rng.integers(1, 200, 2)
        mask = rng.random((h, w)) < (rng.random() * 0.02 if i % 3 else rng.random())
        masks.append(mask)
        rles.append(rle.encode(mask))
    why, areas = rle.check_rles(rles)
    assert why == [None] * len(rles)
    assert areas.tolist() == [int(m.sum()) for m in masks] == [rle.area(r) for r in rles]


def test_results_do_not_depend_on_batching(monkeypatch):
    strings = [encode_runs(list(range(i % 7, 40 + i))) for i in range(50)] + ["", "0o", "\x00", "é1"]
    whole = rle.run_stats(strings)
    monkeypatch.setattr(rle, "_CHUNK_CHARS", 7)
    parts = rle.run_stats(strings)
    one_by_one = [rle.run_stats([s]) for s in strings]
    assert whole.pixels.tolist() == parts.pixels.tolist() == [s.pixels[0] for s in one_by_one]
    assert whole.area.tolist() == parts.area.tolist() == [s.area[0] for s in one_by_one]
    assert whole.defect == parts.defect == [s.defect[0] for s in one_by_one]


@pytest.mark.parametrize("counts, expected", [
    (encode_runs([5, -2, 7]), "a negative run length"),
    ("0o", "the last run is cut"),
    ("1\x00", "characters outside"),
    ("é", "characters outside"),
    ("o" * 9 + "0", "longer than 7 characters"),
    (encode_runs([3, 3]), "runs cover 6 pixels, expected H·W = 2·5 = 10 (counts too short)"),
    (encode_runs([8, 3]), "runs cover 11 pixels, expected H·W = 2·5 = 10 (counts too long)"),
])
def test_hand_built_bad_counts(counts, expected):
    assert expected in rle.is_valid({"size": [2, 5], "counts": counts})
    assert rle.is_valid({"size": [2, 5], "counts": encode_runs([4, 6])}) is None

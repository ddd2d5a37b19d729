"""The synthetic ground truth and submission makers: deterministic, complete, valid, controlled."""

from collections import Counter

import numpy as np
import pytest

from avatar_bench.format import SCENARIOS, scenario_problems
from avatar_bench.testing import QUALITIES, make_gt, make_submission


def test_exact_size_all_scenarios_cross_event_and_valid():
    ds = make_gt(123, width=96, height=54, seed=4)
    assert len(ds.images) == 123 and ds.problems() == [] and scenario_problems(ds) == []
    counts = Counter(im.scenario for im in ds.images)
    assert set(counts) == set(SCENARIOS) and counts["single"] > counts["off_screen"]
    assert ds.cross_event_video_ids()
    assert all(im.width == 96 and im.height == 54 for im in ds.images)
    twins = [im for im in ds.images if im.scenario == "multi_entity"]
    for im in twins:  # the silent look-alike is annotated with the same category
        anns = ds.anns_by_image[im.id]
        cat = next(a.category_id for a in anns if a.sounding)
        assert sum(a.category_id == cat and not a.sounding for a in anns) >= 1
    # Masks are shapes, not boxes: some fill clearly less than their bounding box.
    fills = [a.area / (a.bbox[2] * a.bbox[3]) for a in ds.annotations if a.area > 50]
    assert min(fills) < 0.8 and max(fills) <= 1.0


def test_deterministic_by_seed():
    assert make_gt(20, seed=1, width=64, height=36).to_dict() == make_gt(20, seed=1, width=64, height=36).to_dict()
    assert make_gt(20, seed=1, width=64, height=36).to_dict() != make_gt(20, seed=2, width=64, height=36).to_dict()
    gt = make_gt(10, width=32, height=18)
    a, b = make_submission(gt, "blob", seed=3), make_submission(gt, "blob", seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a[1], make_submission(gt, "blob", seed=4)[1])


@pytest.mark.parametrize("quality", QUALITIES)
def test_every_quality_gives_valid_maps_of_the_requested_size(quality):
    gt = make_gt(10, width=32, height=18)
    sub = make_submission(gt, quality, size=(9, 13), keys="name", dtype=np.float16)
    assert set(sub) == {gt.frame_key(im) for im in gt.images}
    for heat in sub.values():
        assert heat.shape == (9, 13) and heat.dtype == np.float16 and 0 <= heat.min() <= heat.max() <= 1


def test_unknown_quality_or_keys_are_refused():
    gt = make_gt(10, width=32, height=18)
    with pytest.raises(ValueError, match="expected quality"):
        make_submission(gt, "great")
    with pytest.raises(ValueError, match="expected keys"):
        make_submission(gt, keys="title")

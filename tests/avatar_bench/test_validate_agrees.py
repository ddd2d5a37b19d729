"""``validate`` runs exactly the checks of ``evaluate``: on fuzzed ground truth and fuzzed submission bytes,
both refuse (with the same error and message) or both pass, and nothing but the package's own error types
ever comes out (no traceback for bad input, whatever the bytes)."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avatar_bench import AvatarDataset
from avatar_bench.errors import AvatarError
from avatar_bench.evaluate import evaluate, validate
from avatar_bench.submission import write_submission
from avatar_bench.testing import make_submission
from tests.avatar_bench.bad_inputs import base_gt

BASE = base_gt().to_dict()
HEAT = {k: np.asarray(v) for k, v in make_submission(base_gt(), "blob", size=(8, 8)).items()}
HOSTILE = [None, [1], [[1]], {"a": 1}, "1", "", -1, 0, 1, 2, 3, 1.5, float("nan"), True, 2**63, 2**64, 10**40,
           "single", "mixed", "off_screen", "/etc/passwd", "../x", [], [1, 2]]
FIELDS = {
    "categories": ["id", "name"],
    "videos": ["id", "name", "split", "file_name"],
    "images": ["id", "video_id", "width", "height", "frame_index", "scenario", "sounding_category_ids", "file_name"],
    "annotations": ["id", "image_id", "video_id", "category_id", "track_id", "sounding", "origin", "iscrowd",
                    "segmentation", "segmentation.size", "segmentation.counts"],
}


def outcome(call) -> tuple[str, str] | None:
    try:
        call()
    except AvatarError as exc:  # anything else is a bug and fails the test
        return type(exc).__name__, str(exc)
    return None


def both(gt_dict: dict, predictions) -> tuple:
    results = []
    for check in (validate, evaluate):
        def call(check=check):
            check(AvatarDataset.from_dict(copy.deepcopy(gt_dict)), predictions)
        results.append(outcome(call))
    return tuple(results)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzzed_ground_truth_is_refused_alike_or_scored(data):
    d = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(1, 3))):
        table = data.draw(st.sampled_from(sorted(FIELDS)))
        record = data.draw(st.sampled_from(d[table]))
        name = data.draw(st.sampled_from(FIELDS[table]))
        value = data.draw(st.sampled_from(HOSTILE))
        if name.startswith("segmentation."):
            if isinstance(record["segmentation"], dict):  # an earlier draw may have replaced it whole
                record["segmentation"][name.split(".")[1]] = value
        else:
            record[name] = value
    checked, scored = both(d, HEAT)
    assert checked == scored


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=4),
       cut=st.one_of(st.none(), st.floats(0.05, 1)), compress=st.booleans())
def test_fuzzed_submission_bytes_are_refused_alike_or_scored(flips, cut, compress):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_submission(Path(tmp) / "sub.npz", HEAT, compress=compress)
        data = bytearray(path.read_bytes())
        for where, value in flips:
            data[int(where * len(data))] = value
        if cut is not None:
            data = data[: max(1, int(cut * len(data)))]
        path.write_bytes(bytes(data))
        checked, scored = both(BASE, path)
    assert checked == scored
    if checked is not None:
        assert checked[0] in ("SubmissionError", "AvatarFormatError")

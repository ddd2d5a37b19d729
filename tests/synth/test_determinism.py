"""Same seed -> same bytes, whatever the number of workers; a rerun resumes; settings are checked."""

from __future__ import annotations

import hashlib
import json

import pytest

from avatar_bench.synth import SynthError, generate
from avatar_bench.synth.config import plan_clips, resolve_config
from avatar_bench.synth.scene import video_name

SUBSET = {"n_train": 2, "n_val": 0, "n_test": 0, "n_bad": 0}  # clips 0 and 1 of the tiny plan


def _digests(root, name):
    files = [root / "videos" / f"{name}.mp4", root / "meta" / f"{name}.json",
             *sorted((root / "frames" / name).glob("*.jpg"))]
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_same_seed_gives_identical_files_and_a_rerun_resumes(tiny, tmp_path):
    out, _ = tiny
    names = [video_name(0), video_name(1)]
    again = tmp_path / "again"
    summary = generate(again, preset="tiny", seed=0, workers=1, progress=False, **SUBSET)
    assert summary["made"] == 2
    for name in names:  # tiny was made by 2 worker processes, this by one: same bytes
        assert _digests(again, name) == _digests(out, name)
    (again / "meta" / f"{names[1]}.json").unlink()  # as if killed before the clip's meta was written
    summary = generate(again, preset="tiny", seed=0, workers=1, progress=False, **SUBSET)
    assert (summary["made"], summary["kept"]) == (1, 1)
    assert _digests(again, names[1]) == _digests(out, names[1])
    assert json.loads((again / "synth.json").read_text())["complete"] is True


def test_another_seed_gives_other_videos(tiny, tmp_path):
    out, _ = tiny
    other = tmp_path / "seed1"
    generate(other, preset="tiny", seed=1, workers=1, progress=False, n_train=1, n_val=0, n_test=0, n_bad=0)
    name = video_name(0)
    assert _digests(other, name)[f"videos/{name}.mp4"] != _digests(out, name)[f"videos/{name}.mp4"]


def test_resuming_with_other_settings_is_refused(tiny):
    out, _ = tiny
    with pytest.raises(SynthError, match="other settings.*seed"):
        generate(out, preset="tiny", seed=5, workers=1, progress=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"preset": "huge"}, "unknown preset"),
    ({"preset": "tiny", "width": 641}, "width must be"),
    ({"preset": "tiny", "fps": 0}, "fps must be"),
    ({"preset": "tiny", "duration_s": 1}, "duration must be"),
    ({"preset": "tiny", "colour": "red"}, "unknown setting"),
    ({"preset": "tiny", "x264_preset": "placebo2"}, "x264_preset"),
])
def test_bad_settings_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(SynthError, match=message):
        resolve_config(**kwargs)


def test_presets_have_the_promised_shape():
    tiny, small, full = (plan_clips(resolve_config(p)) for p in ("tiny", "small", "full"))
    assert sum(p.defect is None for p in tiny) >= 8 and sum(p.defect is not None for p in tiny) == 5
    assert sum(p.split == "train" and p.defect is None for p in small) >= 300
    good_full = [p for p in full if p.defect is None]
    assert 4900 <= len(good_full) <= 5100
    kinds = {k: sum(p.kind == k for p in good_full) for k in {p.kind for p in good_full}}
    assert max(kinds.values()) - min(kinds.values()) <= 5, kinds  # balanced

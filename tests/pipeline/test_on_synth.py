"""The preparation stages against AVATAR-Synth clips, whose meta files hold the truth."""

import json

import pandas as pd
import pytest

from pipeline.prepare import prepare
from tests.pipeline.intervals import interval_iou


@pytest.fixture(scope="module")
def synth_run(tmp_path_factory):
    from avatar_bench.synth import generate

    out = tmp_path_factory.mktemp("synth") / "tiny"
    # tiny with one clip of each of the four kinds (not tiny's ten) and all five bad clips: seconds, not a minute
    generate(out, preset="tiny", seed=3, workers=2, progress=False, n_train=4, n_val=0, n_test=0,
             x264_preset="ultrafast")
    work = out.parent / "work"
    summary = prepare(f"synth:{out}", work)
    metas = {p.stem: json.loads(p.read_text()) for p in (out / "meta").glob("*.json")}
    tables = {n: pd.read_parquet(work / "manifests" / f"{n}.parquet") for n in ("videos", "probe", "activity",
                                                                               "selection", "frames")}
    return summary, metas, tables


def test_each_bad_clip_is_rejected_with_its_reason(synth_run):
    summary, metas, tables = synth_run
    final = {}
    for stage in ("probe", "activity", "selection"):
        for row in tables[stage].itertuples():
            if row.reason or row.video_id not in final:
                final[row.video_id] = row.reason
    expected = {name: meta["expected_rejection"] or "" for name, meta in metas.items()}
    assert sorted(v for v in expected.values() if v) == ["low_fps", "no_audio", "silent_audio", "too_short",
                                                         "too_small"]
    assert final == expected
    assert summary.kept == 4 and summary.rejected == {r: 1 for r in expected.values() if r}


def test_active_segments_match_the_schedule(synth_run):
    _, metas, tables = synth_run
    kept = tables["activity"][tables["activity"]["status"] == "ok"]
    assert len(kept) == 4
    for row in kept.itertuples():
        iou = interval_iou(json.loads(row.segments), metas[row.video_id]["active_segments_s"])
        assert iou >= 0.9, (row.video_id, iou, row.segments, metas[row.video_id]["active_segments_s"])


def test_chosen_frames_are_never_blurred_and_lie_in_the_sound(synth_run):
    _, metas, tables = synth_run
    frames = tables["frames"]
    assert len(frames) == 4 * 5
    for vid, group in frames.groupby("video_id"):
        meta = metas[vid]
        assert not set(group["frame_index"]) & set(meta["blurred_frames"])
        for row in group.itertuples():
            assert row.timestamp_s == pytest.approx(row.frame_index / meta["fps"], abs=1e-3)
            assert any(s - 0.1 <= row.timestamp_s <= e + 0.1 for s, e in meta["active_segments_s"])
            assert (row.label, row.split) == (meta["label"], meta["split"])
            assert (row.width, row.height) == (meta["width"], meta["height"])

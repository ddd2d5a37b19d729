import json
import shutil

import pandas as pd
import pytest

from pipeline.dummies import write_bad_inputs, write_clip
from pipeline.prepare import PrepareConfig, prepare

FRAME_COLUMNS = ["frame_id", "video_id", "video_path", "frame_index", "timestamp_s", "image_path", "width", "height",
                 "sharpness", "label", "split", "status", "reason"]


@pytest.fixture(scope="module")
def messy_folder(tmp_path_factory, good_clip, scheduled_clip):
    """Good clips with awkward names, a VFR clip, a duplicate id and one file per kind of broken input."""
    folder = tmp_path_factory.mktemp("messy")
    expected = write_bad_inputs(folder, good=good_clip[0])
    shutil.copy(good_clip[0], folder / "vidéo à l'été 01.mp4")
    shutil.copy(scheduled_clip[0], folder / "scheduled.mp4")
    shutil.copy(scheduled_clip[0], folder / "scheduled.mkv")  # same stem: a duplicate id
    write_clip(folder / "vfr.mp4", vfr=True, duration_s=9.0, seed=4)
    expected.update({"vidéo à l'été 01": "", "scheduled": "", "scheduled#2": "duplicate_id", "vfr": ""})
    return folder, expected


def _final_reasons(work):
    reasons = {}
    for stage in ("videos", "probe", "activity", "selection"):
        df = pd.read_parquet(work / "manifests" / f"{stage}.parquet")
        for vid, reason in zip(df["video_id"], df["reason"], strict=True):
            if reason or vid not in reasons:
                reasons[vid] = reason
    return reasons


def test_messy_batch_finishes_with_a_reason_per_video(messy_folder, tmp_path):
    folder, expected = messy_folder
    work = tmp_path / "work"
    summary = prepare(f"dir:{folder}", work, PrepareConfig())
    assert _final_reasons(work) == expected
    assert summary.counts["videos"] == len(expected) and summary.kept == 3
    assert summary.rejected == dict(pd.Series([r for r in expected.values() if r]).value_counts())
    frames = pd.read_parquet(work / "manifests" / "frames.parquet")
    assert list(frames.columns) == FRAME_COLUMNS and frames["frame_id"].is_unique and len(frames) == 15
    for row in frames.itertuples():
        assert row.frame_id == f"{row.video_id}/{row.frame_index:06d}"
        assert row.image_path.startswith(str(work)) and (work / "frames" / row.video_id).is_dir()
        assert pd.api.types.is_integer(row.frame_index) and row.status == "ok"
    vfr = frames[frames["video_id"] == "vfr"]
    assert len(vfr) == 5 and vfr["timestamp_s"].is_monotonic_increasing
    on_disk = json.loads((work / "prepare_summary.json").read_text())
    assert on_disk["kept"] == 3 and on_disk["parts"]["probe"]["rejected"]["unreadable"] == 2
    # the run's one probe filter judged every video that probed fine; its counts match the table's drops
    assert on_disk["parts"]["filter"]["rejected"] == {"no_audio": 1, "too_short": 1}
    assert on_disk["parts"]["filter"]["kept"] == on_disk["parts"]["probe"]["kept"] == 5


def test_rerun_skips_everything_and_changes_nothing(messy_folder, tmp_path):
    folder, _ = messy_folder
    work = tmp_path / "work"
    prepare(f"dir:{folder}", work)
    before = {p.name: pd.read_parquet(p) for p in (work / "manifests").glob("*.parquet")}
    mtimes = {p: p.stat().st_mtime_ns for p in (work / "frames").rglob("*.jpg")}
    again = prepare(f"dir:{folder}", work)
    assert again.processed == 0 and again.counts["new_source_records"] == 0
    for name, df in before.items():
        pd.testing.assert_frame_equal(pd.read_parquet(work / "manifests" / name), df)
    assert {p: p.stat().st_mtime_ns for p in (work / "frames").rglob("*.jpg")} == mtimes


def test_process_pool_gives_the_same_frames(messy_folder, tmp_path):
    folder, _ = messy_folder
    one = prepare(f"dir:{folder}", tmp_path / "one")
    two = prepare(f"dir:{folder}", tmp_path / "two", PrepareConfig(workers=2))
    assert one.rejected == two.rejected and one.counts["frames"] == two.counts["frames"]
    assert two.parts["filter"].to_dict()["rejected"] == one.parts["filter"].to_dict()["rejected"]  # workers' merged
    assert two.parts["filter"].kept == one.parts["filter"].kept > 0
    cols = ["frame_id", "timestamp_s", "sharpness"]
    a = pd.read_parquet(tmp_path / "one" / "manifests" / "frames.parquet")[cols].sort_values("frame_id")
    b = pd.read_parquet(tmp_path / "two" / "manifests" / "frames.parquet")[cols].sort_values("frame_id")
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_real_media_folder(shared_media, tmp_path):
    folder = shared_media("airplane_flyover_then_silence.mp4").parent
    summary = prepare(f"glob:{folder}/*.*", tmp_path / "work")
    assert summary.rejected == {"too_small": 2, "too_short": 2, "too_long": 2, "no_audio": 1, "low_fps": 1}
    frames = pd.read_parquet(tmp_path / "work" / "manifests" / "frames.parquet")
    assert set(frames["video_id"]) == {"airplane_flyover_then_silence", "silent_film_offscreen_piano",
                                       "smpte_bars_1080p_tone", "stage_offscreen_applause"}
    airplane = frames[frames["video_id"] == "airplane_flyover_then_silence"]
    assert len(airplane) >= 3 and airplane["timestamp_s"].max() <= 5.0  # its sound stops after 5 s
    smpte = frames[frames["video_id"] == "smpte_bars_1080p_tone"]
    assert set(zip(smpte["width"], smpte["height"], strict=True)) == {(1920, 1080)}


def test_a_batch_where_nothing_survives_still_writes_the_contract_columns(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.mp4").write_bytes(b"")
    summary = prepare(f"dir:{tmp_path / 'in'}", tmp_path / "work")
    assert summary.rejected == {"zero_byte": 1} and summary.counts["frames"] == 0
    frames = pd.read_parquet(tmp_path / "work" / "manifests" / "frames.parquet")
    assert list(frames.columns) == FRAME_COLUMNS and len(frames) == 0

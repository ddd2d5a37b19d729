import math

import pandas as pd
import pytest

from avatar_bench.naming import clip_name, frame_id
from pipeline.config import apply_overrides
from pipeline.errors import PipelineError
from pipeline.filters import BaseFilter
from pipeline.prepare import PrepareConfig
from pipeline.records import ActivityRecord, FrameRecord, VideoRecord


def test_ids_follow_the_contract():  # the pipeline's ids come from avatar_bench.naming, the one owner of them
    assert clip_name("---g-f_I2yQ", 1) == "---g-f_I2yQ_000001"
    assert clip_name("abcdefghijk", 123.0) == "abcdefghijk_000123"
    assert frame_id("abcdefghijk_000123", 42) == "abcdefghijk_000123/000042"


def test_records_are_slotted_and_round_trip_through_parquet(tmp_path):
    act = ActivityRecord(video_id="v", segments=[[0.0, 1.5], [2.0, 3.0]], active_fraction=0.25)
    assert not hasattr(act, "__dict__")
    vid = VideoRecord(video_id="v", path="/x/v.mp4", source="local")
    frame = FrameRecord(frame_id="v/000003", video_id="v", video_path="/x/v.mp4", frame_index=3, timestamp_s=0.12,
                        image_path="/w/frames/v/000003.jpg", width=64, height=48, sharpness=10.5)
    for rec in (act, vid, frame):
        path = tmp_path / f"{type(rec).__name__}.parquet"
        pd.DataFrame([rec.to_row()]).to_parquet(path)
        back = type(rec).from_row(pd.read_parquet(path).to_dict("records")[0])
        assert back == rec
    assert isinstance(act.to_row()["segments"], str)  # nested values are JSON strings in Parquet
    assert math.isnan(vid.to_row()["start_s"])  # start_s is a float column even for local videos


def test_from_dict_names_what_is_missing():
    with pytest.raises(PipelineError, match="FrameRecord"):
        FrameRecord.from_dict({"frame_id": "v/000001"})


class _EvenOnly(BaseFilter):
    name = "even"

    def filter(self, record):
        n = int(record.video_id)
        if n % 2 == 0:
            return True
        return (False, "odd") if n % 3 else False


def test_filter_counts_drops_per_reason_and_writes_dropped_records():
    dropped = []
    kept = list(_EvenOnly().run((VideoRecord(video_id=str(i)) for i in range(10)), dropped=dropped.append))
    assert [r.video_id for r in kept] == ["0", "2", "4", "6", "8"]
    f = _EvenOnly()
    list(f.run(VideoRecord(video_id=str(i)) for i in range(10)))
    assert f.kept == 5 and f.dropped == {"odd": 3, "filtered": 2}  # 3 and 9 give a bare False
    assert {r.reason for r in dropped} == {"odd", "filtered"} and all(r.status == "rejected" for r in dropped)


def test_config_overrides_are_typed_and_unknown_keys_refused():
    d = apply_overrides({}, ["probe.min_short_side=240", "probe.max_duration_s=null", "workers=3",
                             "activity.floor_db=-60"])
    cfg = PrepareConfig.from_dict(d)
    assert cfg.probe.min_short_side == 240 and cfg.probe.max_duration_s is None and cfg.workers == 3
    assert cfg.activity.floor_db == -60.0 and isinstance(cfg.activity.floor_db, float)
    assert PrepareConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(PipelineError, match="unknown key"):
        PrepareConfig.from_dict({"probe": {"min_side": 3}})
    with pytest.raises(PipelineError, match="expected int"):
        PrepareConfig.from_dict({"probe": {"min_short_side": "big"}})

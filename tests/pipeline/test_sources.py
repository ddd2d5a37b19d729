import pytest

from pipeline.errors import PipelineError
from pipeline.sources import iter_source, parse_source
from pipeline.sources.local import prepare_local
from pipeline.sources.synth import prepare_synth
from pipeline.sources.vggsound import read_vggsound_csv

CSV = "\n".join([
    "---g-f_I2yQ,1,people marching,test",
    'abcdefghijk,30,"dog barking, growling",train',
    "abcdefghijk,30,dog barking,train",
    "short_id,5,cat,test",
    "zyxwvutsrq_,x,cat,test",
    "zyxwvutsrq_,12.5,cat,test",
    "only,two",
    "",
    '-_-_-_-_-_-,0,"quoted ""label""",val',
]) + "\n"


def test_vggsound_csv_rows_become_records_or_reasons(tmp_path):
    path = tmp_path / "vgg.csv"
    path.write_text(CSV, encoding="utf-8")
    records = list(read_vggsound_csv(path))
    by_id = {r.video_id: r for r in records}
    assert len(records) == 8  # every non-blank row is recorded, kept or not
    ok = by_id["---g-f_I2yQ_000001"]
    assert ok.ok and ok.label == "people marching" and ok.split == "test" and ok.start_s == 1.0
    assert by_id["abcdefghijk_000030"].label == "dog barking, growling"  # comma inside quotes
    assert by_id["abcdefghijk_000030#line3"].reason == "duplicate_id"
    assert by_id["csv-line-000004"].reason == "bad_id"
    assert by_id["csv-line-000005"].reason == "malformed_row" and "'x'" in by_id["csv-line-000005"].detail
    assert by_id["csv-line-000006"].reason == "malformed_row"  # 12.5 s is not a VGGSound start
    assert by_id["csv-line-000007"].reason == "malformed_row" and "got 2" in by_id["csv-line-000007"].detail
    assert by_id["-_-_-_-_-_-_000000"].label == 'quoted "label"'
    assert len({r.video_id for r in records}) == len(records)  # keys never collide


def test_local_folder_with_unicode_names_and_duplicate_stems(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("vidéo à l'été 01.mp4", "clip.mp4", "clip.webm", "notes.txt", "sub/clip.mp4"):
        (tmp_path / name).write_bytes(b"x")
    records = list(prepare_local(tmp_path))
    assert [r.video_id for r in records] == ["clip", "clip#2", "vidéo à l'été 01"]  # folder: not recursive
    assert records[1].reason == "duplicate_id" and records[0].ok and records[2].ok
    globbed = list(prepare_local(str(tmp_path / "**" / "clip.*")))
    assert sorted(r.reason for r in globbed) == ["", "duplicate_id", "duplicate_id"]
    assert all(r.path.startswith("/") for r in globbed)


def test_synth_folder_rows_point_at_their_clips(tmp_path):
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "sy000000001_000000.mp4").write_bytes(b"x")
    (tmp_path / "vggsound.csv").write_text("sy000000001,0,dog,train\nsy000000002,0,cat,test\n", encoding="utf-8")
    records = list(prepare_synth(tmp_path))
    assert records[0].ok and records[0].path == str(tmp_path / "videos" / "sy000000001_000000.mp4")
    assert records[0].source == "synth" and records[0].label == "dog"
    assert records[1].reason == "missing_file"
    assert parse_source(str(tmp_path)) == ("synth", str(tmp_path))
    with pytest.raises(PipelineError, match="AVATAR-Synth"):
        list(prepare_synth(tmp_path / "videos"))


def test_source_specs(tmp_path):
    assert parse_source("csv:/x.csv") == ("csv", "/x.csv")
    assert parse_source("glob:/a/*.mp4") == ("glob", "/a/*.mp4")
    assert parse_source(str(tmp_path)) == ("dir", str(tmp_path))
    with pytest.raises(PipelineError, match="expected csv:FILE"):
        parse_source("/does/not/exist")
    with pytest.raises(PipelineError, match="CSV file"):
        list(iter_source(f"csv:{tmp_path / 'none.csv'}", tmp_path))
    (tmp_path / "a.mp4").write_bytes(b"x")
    assert [r.video_id for r in iter_source(f"dir:{tmp_path}", tmp_path, skip={"a"})] == []

"""The training list (vggsound_10k.txt): the three accepted line formats, bad lines, and the selection of clips."""

from __future__ import annotations

import pytest

from avatar_bench.release.idlist import ListEntry, parse_id_line, read_id_list
from avatar_bench.vggsound import RowProblem


@pytest.mark.parametrize("line, expected", [
    ("---g-f_I2yQ", ("---g-f_I2yQ", None, "ytid")),
    ("  abcdefgh_12  ", ("abcdefgh_12", None, "ytid")),  # 11 characters: an id, even with a '_<digits>' tail
    ("---g-f_I2yQ_000001", ("---g-f_I2yQ", 1, "ytid_start")),
    ("---g-f_I2yQ_00030", ("---g-f_I2yQ", 30, "ytid_start")),
    ("---g-f_I2yQ,1", ("---g-f_I2yQ", 1, "csv")),
    ("---g-f_I2yQ,30,people marching", ("---g-f_I2yQ", 30, "csv")),
    ('---g-f_I2yQ,30,"dog barking, loud",train', ("---g-f_I2yQ", 30, "csv")),
])
def test_the_three_formats(line, expected):
    got = parse_id_line(line, 7)
    assert isinstance(got, ListEntry) and (got.youtube_id, got.start_s, got.format) == expected and got.line == 7


@pytest.mark.parametrize("line, reason", [
    ("short_id", "bad_id"), ("---g-f_I2yQ_x", "bad_id"), ("toolongidentifier_000001", "bad_id"),
    ("---g-f_I2yQ,inf", "malformed_row"), ("---g-f_I2yQ,1,a,train,extra", "malformed_row"),
    ('---g-f_I2yQ,1,"unterminated', "malformed_row"), ("bad id!,1", "bad_id"),
])
def test_bad_lines_are_problems_with_their_line(line, reason):
    got = parse_id_line(line, 3)
    assert isinstance(got, RowProblem) and got.reason == reason and got.detail.startswith("line 3")


def test_read_reports_the_format_and_selects_clips(tmp_path):
    path = tmp_path / "vggsound_10k.txt"
    path.write_text("\ufeffaaaaaaaaaaa_000010\n# comment\n\nbbbbbbbbbbb_00020\nnot an id at all\n"
                    "ccccccccccc_000005\n", encoding="utf-8")
    listed = read_id_list(path)
    assert listed.format == "ytid_start" and len(listed.entries) == 3 and len(listed.problems) == 1
    assert "3 entries, format ytid_start (<youtube_id>_<start>)" in listed.describe()
    assert "1 bad line(s), e.g. line 5" in listed.describe()
    names = ["aaaaaaaaaaa_000010", "aaaaaaaaaaa_000011", "bbbbbbbbbbb_000020", "xx"]
    chosen, unmatched = listed.select_names(names)
    assert chosen == [0, 2] and [e.youtube_id for e in unmatched] == ["ccccccccccc"]
    assert listed.report(len(chosen), len(names), unmatched) == (
        "2 of 3 entries matched 2 of 4 clip(s); 1 entries have no clip, e.g. line 6 (ccccccccccc)")
    path.write_text("aaaaaaaaaaa\nbbbbbbbbbbb,20,dog,train\n", encoding="utf-8")
    listed = read_id_list(path)
    assert listed.format == "mixed: 1 ytid, 1 csv"
    assert listed.select_names(names)[0] == [0, 1, 2]  # a bare id selects every clip of its video


def test_release_names_in_naming():
    from avatar_bench import naming

    assert naming.release_clip_name("---g-f_I2yQ", 30) == "---g-f_I2yQ_00030"
    assert naming.split_clip_name("---g-f_I2yQ_00030") == ("---g-f_I2yQ", 30)
    assert naming.split_frame_file("00012.JSON") == (12, "json") and naming.split_frame_file("7.jpg") == (7, "jpg")
    for bad in ("x.json", "12", ".json", "12."):
        with pytest.raises(ValueError, match="expected '<frame index>.<extension>'"):
            naming.split_frame_file(bad)

"""The scenario rule, the id/file-name formulas and the VGGSound row: hand-built cases."""

from __future__ import annotations

import pytest

from avatar_bench import naming
from avatar_bench.rules import scenario_of, scenario_violations
from avatar_bench.vggsound import RowProblem, VGGSoundRow, parse_line, read_rows


@pytest.mark.parametrize("instances, heard, expected", [
    ([], [], None),
    ([], ["dog"], "off_screen"),
    ([("dog", False)], ["dog"], "off_screen"),
    ([("dog", True)], ["dog"], "single"),
    ([("dog", True), ("cat", False)], ["dog"], "single"),
    ([("dog", True), ("dog", False)], ["dog"], "multi_entity"),
    ([("dog", True), ("cat", True)], ["dog", "cat"], "mixed"),
    ([("dog", True), ("dog", True)], ["dog"], "mixed"),  # two sources of one category: mixed, not single
    ([("dog", True), ("dog", True), ("dog", False)], ["dog"], "mixed"),
])
def test_scenario_of(instances, heard, expected):
    assert scenario_of(instances, heard) == expected
    if expected is not None:
        assert scenario_violations(expected, instances, heard) == []


def test_violations_name_the_broken_rule():
    assert "no sounding instance" in scenario_violations("off_screen", [("dog", True)], ["dog"])[0]
    assert "heard category" in scenario_violations("off_screen", [], [])[0]
    assert "exactly one" in scenario_violations("single", [("dog", True), ("dog", True)], ["dog"])[0]
    assert "look-alikes" in scenario_violations("multi_entity", [("dog", True)], ["dog"])[0]
    assert "look-alikes" in scenario_violations("single", [("dog", True), ("dog", False)], ["dog"])[0]
    assert "missing from sounding_category_ids" in scenario_violations("single", [("dog", True)], [])[0]
    assert "two or more" in scenario_violations("mixed", [("dog", True)], ["dog"])[0]
    assert scenario_violations("sideways", [], []) != []


def test_sounding_only_files_skip_the_lookalike_count():
    assert scenario_violations("multi_entity", [("dog", True)], ["dog"], silent_annotated=False) == []
    assert scenario_violations("single", [("dog", True)], ["dog"], silent_annotated=False) == []
    assert scenario_violations("single", [("dog", True)] * 2, ["dog"], silent_annotated=False) != []


def test_names_round_trip():
    assert naming.clip_name("---g-f_I2yQ", 1) == "---g-f_I2yQ_000001"
    assert naming.clip_name("---g-f_I2yQ", 30, digits=naming.RELEASE_DIGITS) == "---g-f_I2yQ_00030"
    assert naming.split_clip_name("---g-f_I2yQ_00030") == ("---g-f_I2yQ", 30)
    assert naming.frame_id("v_000001", 12) == "v_000001/000012"
    assert naming.parse_frame_id("v_000001/12") == naming.parse_frame_id("v_000001/000012") == ("v_000001", 12)
    assert naming.frame_file_name("v", 3) == "v/000003.jpg"
    for bad in ("noStart", "abc_", "_123", "abc_12a"):
        with pytest.raises(ValueError, match="start"):
            naming.split_clip_name(bad)
    for bad in ("v", "v/", "/12", "v/1x"):
        with pytest.raises(ValueError, match="frame key"):
            naming.parse_frame_id(bad)


def test_vggsound_lines(tmp_path):
    assert parse_line('---g-f_I2yQ,1,"people marching, loudly",test') == VGGSoundRow(
        "---g-f_I2yQ", 1, "people marching, loudly", "test")
    assert parse_line("") is None and parse_line("# comment") is None
    for text, reason in [("abc,1,x,test", "bad_id"), ("---g-f_I2yQ,inf,x,test", "malformed_row"),
                         ("---g-f_I2yQ,1e308,x,test", "malformed_row"), ("---g-f_I2yQ,1.5,x,test", "malformed_row"),
                         ("---g-f_I2yQ,1,x", "malformed_row"), ("---g-f_I2yQ,1,x,holdout", "bad_split"),
                         ('---g-f_I2yQ,1,"unterminated,test', "malformed_row")]:
        got = parse_line(text, 3)
        assert isinstance(got, RowProblem) and got.reason == reason and got.line == 3, text
    path = tmp_path / "rows.csv"
    path.write_bytes('\ufeff---g-f_I2yQ,1,a,test\n--bad-quote,2,"x,test\n0123456789a,3,b,train\n'.encode())
    got = list(read_rows(path))
    assert [type(g).__name__ for g in got] == ["VGGSoundRow", "RowProblem", "VGGSoundRow"]  # BOM ignored, no swallow
    assert got[2].name == "0123456789a_000003" and got[2].line == 3

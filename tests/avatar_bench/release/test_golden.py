"""The importer's output, byte for byte, on a release of every polygon shape: the golden files in ``data/`` were
written by the importer before it was made faster (see ``golden.py``); a speed-up must not move one byte."""

from __future__ import annotations

import json

from avatar_bench import __version__
from avatar_bench.data_cli import main

from .golden import DATA, golden_outputs, write_golden_release

GOLDEN_VERSION = b'"toolkit_version":"0.1.0"'  # the toolkit's version when the golden file was written


def _expected() -> bytes:
    return (DATA / "golden_import.json").read_bytes().replace(
        GOLDEN_VERSION, f'"toolkit_version":"{__version__}"'.encode())


def test_the_import_writes_the_golden_bytes_and_problems(tmp_path):
    root = write_golden_release(tmp_path / "metadata")
    data, warnings, errors = golden_outputs(root, tmp_path / "test.json")
    want = json.loads((DATA / "golden_problems.json").read_text(encoding="utf-8"))
    assert data == _expected()
    assert [w.replace(str(tmp_path), "<tmp>") for w in warnings] == want["warnings"]
    assert [e.replace(str(tmp_path), "<tmp>") for e in errors] == want["errors"]


def test_the_golden_release_holds_every_shape_and_warning():
    """The fixture is worth comparing on: every kind of polygon problem, merged parts and RLEs occur in it."""
    want = json.loads((DATA / "golden_problems.json").read_text(encoding="utf-8"))
    codes = {w.split()[0] for w in want["warnings"]}
    assert {"points_clipped", "short_polygon", "malformed_polygon", "no_mask", "empty_mask", "offscreen_mask",
            "no_annotation", "unscorable_frame", "scenario_rule", "missing_image", "size_mismatch"} <= codes
    assert len(want["errors"]) == 10  # the header, two unknown tasks, seven other errors
    gold = json.loads(_expected())
    assert len(gold["images"]) == 184 and len(gold["annotations"]) == 190
    assert len({(im["width"], im["height"]) for im in gold["images"]}) >= 3


def test_the_cli_writes_the_golden_bytes(tmp_path, capsys):
    root = write_golden_release(tmp_path / "metadata")
    assert main(["import-release", str(root), "--out", str(tmp_path / "test.json"), "-q"]) == 0
    assert (tmp_path / "test.json").read_bytes() == _expected()
    assert "292 warning(s)" in capsys.readouterr().out

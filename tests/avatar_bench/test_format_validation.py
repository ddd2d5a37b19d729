"""AVATAR-COCO validation (one test per problem class), the JSON schema, the sample, pycocotools loading."""

import copy
import json
import os
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from pycocotools.coco import COCO

from avatar_bench import AvatarDataset, AvatarFormatError, rle
from avatar_bench.format import SCENARIOS, scenario_problems
from avatar_bench.testing import make_gt
from avatar_bench.testing.dummies import sample_dataset

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "annotations/schema/avatar_coco.schema.json").read_text())
SAMPLE = REPO / "annotations/sample/avatar_coco_sample.json"


@pytest.fixture(scope="module")
def base() -> dict:
    return make_gt(10, width=48, height=27, seed=3, frames_per_video=2).to_dict()


def problems(d: dict) -> str:
    with pytest.raises(AvatarFormatError) as err:
        AvatarDataset.from_dict(copy.deepcopy(d)).validate()
    return str(err.value)


@pytest.mark.parametrize("version, expected", [
    (None, "missing info.version"), ("one", "not of the form MAJOR.MINOR"), ("2.1", "schema version 2.1 is not"),
])
def test_schema_version(base, version, expected):
    d = copy.deepcopy(base)
    d["info"] = {} if version is None else {"version": version}
    with pytest.raises(AvatarFormatError, match=expected):
        AvatarDataset.from_dict(d)
    d["info"]["version"] = "1.7"  # a newer minor version of the same major is read
    assert AvatarDataset.from_dict(d).problems() == []


def test_dangling_ids(base):
    d = copy.deepcopy(base)
    d["images"][0]["video_id"] = 404
    d["annotations"][0]["image_id"] = 405
    d["annotations"][1]["category_id"] = 406
    d["images"][1]["sounding_category_ids"] = [407]
    text = problems(d)
    assert f"image {d['images'][0]['id']}: video_id 404 does not exist" in text
    assert f"annotation {d['annotations'][0]['id']}: image_id 405 does not exist" in text
    assert f"annotation {d['annotations'][1]['id']}: category_id 406 does not exist" in text
    assert "sounding_category_ids [407] do not exist" in text


def test_rle_size_mismatch_and_bad_counts(base):
    d = copy.deepcopy(base)
    d["annotations"][0]["segmentation"] = rle.encode(np.ones((10, 10), bool))
    d["annotations"][1]["segmentation"] = {"size": [27, 48], "counts": [1, 2, 3]}
    text = problems(d)
    assert "RLE size [10, 10] does not match its image" in text and "expected [H, W] = [27, 48]" in text
    assert "expected counts as a string, got list" in text


def test_duplicate_ids_names_and_frames(base):
    d = copy.deepcopy(base)
    d["annotations"][1]["id"] = d["annotations"][0]["id"]
    d["images"].append({**d["images"][0]})
    d["videos"][1]["name"] = d["videos"][0]["name"]
    d["categories"][1]["id"] = d["categories"][0]["id"]
    text = problems(d)
    assert f"duplicate annotation id(s): [{d['annotations'][0]['id']}]" in text
    assert "duplicate image id(s)" in text and "duplicate category id(s)" in text
    assert f"duplicate video name(s): ['{d['videos'][0]['name']}']" in text
    assert "is already image" in text  # the same (video, frame_index) twice


def test_unknown_scenario_and_other_enums(base):
    d = copy.deepcopy(base)
    d["images"][0]["scenario"] = "loud"
    d["annotations"][0]["origin"] = "robot"
    d["annotations"][0]["sounding"] = "yes"
    d["annotations"][0]["iscrowd"] = 1
    d["videos"][0]["split"] = "holdout"
    d["videos"][1]["name"] = "a/b"
    text = problems(d)
    assert f"expected scenario in {SCENARIOS}, got 'loud'" in text
    for expected in ("expected origin in", "expected sounding true/false", "expected iscrowd 0",
                     "expected split in", "without '/'"):
        assert expected in text


def test_malformed_records_are_all_reported_at_load(base):
    d = copy.deepcopy(base)
    del d["images"][0]["scenario"]
    d["annotations"][2] = "not an object"
    with pytest.raises(AvatarFormatError) as err:
        AvatarDataset.from_dict(d)
    text = str(err.value)
    assert "missing required field(s) ['scenario']" in text and "expected an object, got str" in text


def test_scenario_rules():
    ds = make_gt(10, width=48, height=27, seed=3, frames_per_video=2)
    assert scenario_problems(ds) == []
    d = ds.to_dict()
    single = next(im for im in d["images"] if im["scenario"] == "single")
    single["scenario"] = "mixed"
    off = next(im for im in d["images"] if im["scenario"] == "off_screen")
    off["sounding_category_ids"] = []
    text = "\n".join(scenario_problems(AvatarDataset.from_dict(d)))
    assert f"image {single['id']} (mixed): mixed frames need two or more sounding instances, found 1" in text
    assert f"image {off['id']} (off_screen): off-screen frames must list the heard category" in text


def test_written_files_follow_the_json_schema_and_the_schema_has_teeth(tmp_path, base):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    path = tmp_path / "test.json"
    AvatarDataset.from_dict(copy.deepcopy(base)).save(path)
    jsonschema.validate(json.loads(path.read_text()), SCHEMA)
    jsonschema.validate(json.loads(SAMPLE.read_text()), SCHEMA)
    for mutate in (lambda d: d["images"][0].update(scenario="loud"),
                   lambda d: d["annotations"][0]["segmentation"].update(counts=[1, 2]),
                   lambda d: d["info"].update(version="2.0"),
                   lambda d: d["annotations"][0].pop("segmentation")):
        bad = copy.deepcopy(base)
        mutate(bad)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)


def test_pycocotools_loads_written_files_unchanged(tmp_path, base):
    ds = AvatarDataset.from_dict(copy.deepcopy(base))
    path = tmp_path / "test.json"
    ds.save(path)
    coco = COCO(str(path))
    assert sorted(coco.getImgIds()) == sorted(im.id for im in ds.images)
    assert len(coco.getAnnIds()) == len(ds.annotations) and len(coco.getCatIds()) == len(ds.categories)
    for a in ds.annotations:
        np.testing.assert_array_equal(coco.annToMask(coco.anns[a.id]).astype(bool), rle.decode(a.segmentation))
        assert coco.anns[a.id]["area"] == rle.area(a.segmentation)
    assert AvatarDataset.load(path).to_dict() == json.loads(path.read_text()) == ds.to_dict()


def test_sample_file_is_valid_covers_everything_and_is_reproducible():
    ds = AvatarDataset.load(SAMPLE)
    assert scenario_problems(ds) == []
    assert {im.scenario for im in ds.images} == set(SCENARIOS)
    assert ds.cross_event_video_ids()
    # Regenerate with: sample_dataset().save("annotations/sample/avatar_coco_sample.json", indent=1)
    assert ds.to_dict() == sample_dataset().to_dict()
    COCO(str(SAMPLE))


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    path = tmp_path / "x.json"
    AvatarDataset().save(path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]

import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from avatar_bench import Annotation, AvatarDataset, AvatarFormatError, rle
from avatar_bench.format import scenario_problems


def tiny_dataset() -> AvatarDataset:
    m = np.zeros((36, 64), bool)
    m[5:10, 3:20] = True
    r = rle.encode(m)
    return AvatarDataset.from_dict({
        "info": {"version": "1.0"},
        "categories": [{"id": 1, "name": "dog"}],
        "videos": [{"id": 1, "name": "v1"}],
        "images": [{"id": 1, "video_id": 1, "width": 64, "height": 36, "frame_index": 0, "scenario": "single",
                    "sounding_category_ids": [1]}],
        "annotations": [{"id": 1, "image_id": 1, "video_id": 1, "category_id": 1, "segmentation": r,
                         "sounding": True, "bbox": rle.bbox(r), "area": rle.area(r), "reviewer": "ann1"}],
    })


def test_round_trip_keeps_unknown_fields_and_loads_in_pycocotools(tmp_path):
    ds = tiny_dataset()
    path = tmp_path / "test.json"
    ds.save(path)
    again = AvatarDataset.load(path)
    assert again.to_dict() == ds.to_dict()
    assert again.annotations[0].extra == {"reviewer": "ann1"}
    coco = COCO(str(path))
    assert coco.annToMask(coco.anns[1]).sum() == 5 * 17
    assert scenario_problems(again) == []


def test_unknown_major_version_is_refused(tmp_path):
    d = tiny_dataset().to_dict()
    d["info"]["version"] = "2.0"
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(d))
    with pytest.raises(AvatarFormatError, match="schema version 2.0 is not supported"):
        AvatarDataset.load(path)


def test_rle_size_mismatch_and_dangling_ids_are_all_reported():
    d = tiny_dataset().to_dict()
    d["annotations"][0]["segmentation"] = rle.encode(np.zeros((10, 10), bool))
    d["annotations"].append({**d["annotations"][0], "id": 2, "image_id": 99})
    d["images"][0]["scenario"] = "loud"
    with pytest.raises(AvatarFormatError) as err:
        AvatarDataset.from_dict(d).validate()
    text = str(err.value)
    assert "annotation 1: RLE size [10, 10] does not match" in text
    assert "annotation 2: image_id 99 does not exist" in text
    assert "image 1: expected scenario" in text


def test_checks_are_cached_but_follow_replaced_or_grown_record_lists():
    ds = tiny_dataset()
    assert ds.problems() == []
    bad = rle.encode(np.zeros((36, 64), bool))
    bad["counts"] = "1"  # runs cover 1 pixel of 2304
    ds.annotations = [*ds.annotations, Annotation.from_dict({**ds.annotations[0].to_dict(), "id": 2,
                                                             "segmentation": bad})]
    assert any("annotation 2: segmentation: runs cover 1 pixels" in p for p in ds.problems())
    ds.annotations[1].segmentation = ds.annotations[0].segmentation  # in place: the documented call
    ds.invalidate_indexes()
    assert ds.problems() == []

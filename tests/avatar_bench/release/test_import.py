"""import_release on hand-built release folders whose pixels are known: masks, scenarios, ids, kept keys."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from pycocotools.coco import COCO

from avatar_bench import naming, rle
from avatar_bench.release import import_release, parse_task_map, release_key, submission_keys
from avatar_bench.release.tasks import normalize

from .conftest import SQUARE, frame, write_frames

REPO = Path(__file__).resolve().parents[3]


def _mask(result, key: str) -> np.ndarray:
    ds = result.dataset
    im = next(im for im in ds.images if release_key(ds, im) == key)
    return rle.union([a.segmentation for a in ds.anns_by_image.get(im.id, [])], (im.height, im.width))


def test_a_pixel_edge_square_becomes_exactly_its_pixels(tmp_path):
    triangle = [[0, 0, 8, 0, 0, 8]]  # COCO: pixel (x, y) is inside when its centre is; the hypotenuse x + y = 8
    write_frames(tmp_path, {"abcdefghijk_00010/00005": frame(polygons=SQUARE),
                            "abcdefghijk_00010/00030": frame(polygons=SQUARE + [[40, 30, 50, 30, 50, 40]]),
                            "abcdefghijk_00010/00040": frame(polygons=triangle)})
    result = import_release(tmp_path)
    want = np.zeros((48, 64), bool)
    want[5:15, 10:20] = True
    assert np.array_equal(_mask(result, "abcdefghijk_00010/00005"), want)
    two = _mask(result, "abcdefghijk_00010/00030")  # two polygons of one annotation: one mask, their union
    assert two[5:15, 10:20].all() and two.sum() > 100 and len(result.dataset.annotations) == 3
    tri = _mask(result, "abcdefghijk_00010/00040")
    ys, xs = np.nonzero(tri)
    assert (xs + ys <= 8).all() and tri[0, 0] and tri[3, 3] and not tri[5, 5]
    ann = result.dataset.annotations[0]
    assert ann.area == 100 and ann.bbox == [10.0, 5.0, 10.0, 10.0] and ann.sounding and ann.origin == "human"
    assert result.warnings == []


def test_records_scenarios_categories_and_what_the_release_does_not_say(tmp_path):
    write_frames(tmp_path, {
        "-x_y-z12345_00030/00012": frame("Single-sound", SQUARE, "dog", note="kept"),
        "-x_y-z12345_00030/00050": frame("OFF-SCREEN", category="cat"),
        "-x_y-z12345_00030/00075": {"original_width": 64, "original_height": 48, "annotations": [
            {"segmentation": SQUARE, "audio_visual_category": "dog", "task": "mixed sound", "tool": "sam"},
            {"segmentation": [[30, 30, 40, 30, 40, 40]], "audio_visual_category": "bird", "task": "Mixed_Sound"}]},
        "zzzzzzzzzzz_00000/00001": frame("multi-entity", SQUARE, "bird")})
    result = import_release(tmp_path)
    ds = result.dataset
    assert [c.name for c in ds.categories] == ["bird", "cat", "dog"]  # sorted labels, ids 1..
    assert [v.name for v in ds.videos] == ["-x_y-z12345_00030", "zzzzzzzzzzz_00000"]
    assert ds.videos[0].extra == {"youtube_id": "-x_y-z12345", "start_s": 30}  # split on the last '_'
    assert [(im.frame_index, im.scenario, im.sounding_category_ids) for im in ds.images] == [
        (12, "single", [3]), (50, "off_screen", [2]), (75, "mixed", [1, 3]), (1, "multi_entity", [1])]
    assert [im.id for im in ds.images] == [1, 2, 3, 4] and [a.id for a in ds.annotations] == [1, 2, 3, 4]
    assert not ds.anns_by_image.get(2)  # the off-screen annotation has no mask: no instance
    assert ds.images[0].extra == {"release_task": "Single-sound", "release_fields": {"note": "kept"}}
    assert ds.annotations[1].extra == {"release_fields": {"tool": "sam"}}
    assert ds.images[0].file_name == "-x_y-z12345_00030/00012.jpg" and ds.images[0].timestamp_s is None
    assert ds.videos[0].fps == 0.0 and ds.videos[0].width == 64
    assert ds.info["source"] == "avatar-release" and ds.silent_instances_annotated is False
    assert ds.info["import"]["timestamps"].startswith("unset") and ds.info["import"]["images"] == "beside the JSONs"
    assert ds.cross_event_video_ids() == {1}  # dog -> cat -> bird+dog
    ds.validate()
    assert result.warnings == []  # one sounding multi-entity instance is fine when silent ones are not annotated


def test_written_file_is_avatar_coco_coco_and_schema_valid(tmp_path):
    write_frames(tmp_path / "m", {"abcdefghijk_00010/00005": frame(polygons=SQUARE),
                                  "abcdefghijk_00010/00009": frame("Off-Screen")})
    ds = import_release(tmp_path / "m").dataset
    ds.save(tmp_path / "test.json")
    schema = json.loads((REPO / "annotations/schema/avatar_coco.schema.json").read_text())
    jsonschema.validate(json.loads((tmp_path / "test.json").read_text()), schema)
    coco = COCO(str(tmp_path / "test.json"))
    assert coco.annToMask(coco.loadAnns(coco.getAnnIds())[0]).sum() == 100
    again = import_release(tmp_path / "m").dataset
    assert again.to_dict() == ds.to_dict()  # deterministic


def test_release_keys_and_submission_keys(tmp_path):
    write_frames(tmp_path, {"abcdefghijk_00010/00005": frame(polygons=SQUARE)})
    ds = import_release(tmp_path).dataset
    im = ds.images[0]
    assert release_key(ds, im) == "abcdefghijk_00010/00005" == naming.frame_id(ds.videos[0].name, 5, 5)
    heat = {im.id: np.zeros((4, 4))}
    assert list(submission_keys(ds, heat)) == ["abcdefghijk_00010/00005"]
    assert list(submission_keys(ds, heat, "id")) == [im.id]
    ds.info["source"] = "synth"
    assert list(submission_keys(ds, heat)) == [im.id]
    with pytest.raises(ValueError, match="expected keys"):
        submission_keys(ds, heat, "names")


def test_task_strings_are_matched_loosely_and_mapped_on_request(tmp_path):
    assert {normalize(t) for t in ("Multi-entity", "multi_entity", "MULTI ENTITY", "Multi - Entity")} == {"multientity"}
    assert parse_task_map(["Duet=mixed", "Solo sound = Single-sound"]) == {"duet": "mixed", "solosound": "single"}
    write_frames(tmp_path, {"abcdefghijk_00010/00005": frame("Duet", SQUARE)})
    ds = import_release(tmp_path, task_map=parse_task_map(["DUET=mixed"])).dataset
    assert ds.images[0].scenario == "mixed" and ds.info["import"]["task_map"] == {"duet": "mixed"}
    assert any(p.code == "scenario_rule" for p in import_release(tmp_path, task_map={"duet": "mixed"}).warnings)


def test_videos_give_fps_duration_and_timestamps(release5, synth5_gt):
    result = import_release(release5.metadata, videos=release5.videos)
    ds = result.dataset
    synth_stamp = {release5.keys[im.id]: im.timestamp_s for im in synth5_gt.images}
    assert {release_key(ds, im): im.timestamp_s for im in ds.images} == pytest.approx(synth_stamp)
    assert all(v.fps == 25.0 and v.duration_s == pytest.approx(4.0, abs=0.1) for v in ds.videos)
    assert result.frame_check["frames_beyond_video"] == 0 and result.frame_check["frames_checked"] == len(ds.images)
    assert 0 < result.frame_check["max_frame_over_frame_count"] < 1

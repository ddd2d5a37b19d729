"""Broken and hostile ground truth: each case mutates the valid GT of :func:`bad_inputs.base_gt`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from avatar_bench import rle
from tests.avatar_bench.bad_inputs import Case, base_gt, encode_runs, write_good


# ------------------------------------------------------------------------------------------ ground truth
def _ann(d: dict, ann_id: int) -> dict:
    return next(a for a in d["annotations"] if a["id"] == ann_id)


def _img(d: dict, image_id: int) -> dict:
    return next(im for im in d["images"] if im["id"] == image_id)


def _gt_case(name: str, mutate: Callable[[dict], None | str | bytes], expected: list[str], stands_for: str,
             args: tuple[str, ...] = ()) -> Case:
    def build(folder: Path) -> tuple[Path, Path, list[str]]:
        _, sub_path = write_good(folder)
        d = base_gt().to_dict()
        raw = mutate(d)
        path = folder / f"gt_{name}.json"
        if isinstance(raw, bytes):
            path.write_bytes(raw)
        else:
            path.write_text(raw if isinstance(raw, str) else json.dumps(d))
        return path, sub_path, list(args)

    return Case(name, build, expected, "gt", stands_for=stands_for)


def _set(table: str, rec_id: int, **values) -> Callable[[dict], None]:
    def mutate(d: dict) -> None:
        next(r for r in d[table] if r["id"] == rec_id).update(values)
    return mutate


def _rle_runs(ann_id: int, runs: list[int]) -> Callable[[dict], None]:
    def mutate(d: dict) -> None:
        _ann(d, ann_id)["segmentation"]["counts"] = encode_runs(runs)
    return mutate


def _rle_counts(ann_id: int, counts: str) -> Callable[[dict], None]:
    def mutate(d: dict) -> None:
        _ann(d, ann_id)["segmentation"]["counts"] = counts
    return mutate


def _deep(d: dict) -> str:
    return '{"info": {"version": "1.0"}, "images": ' + "[" * 200_000 + "]" * 200_000 + "}"


def _huge_int_text(d: dict) -> str:
    return json.dumps(d).replace('"id": 1,', '"id": 1' + "0" * 5000 + ",", 1)


def _no_frames(d: dict) -> None:
    d["images"], d["annotations"] = [], []


def _off_screen_sounding(d: dict) -> None:
    # image 12 is off screen with a silent instance of category 3: make it sound
    _ann(d, 20)["sounding"] = True


def _lone_multi_entity(d: dict) -> None:
    # image 7 is multi_entity with one sounding (12) and one silent (13) instance of category 3: drop the twin
    d["annotations"] = [a for a in d["annotations"] if a["id"] != 13]


def _lone_multi_entity_release(d: dict) -> None:
    _lone_multi_entity(d)
    d["info"]["silent_instances_annotated"] = False


def _empty_sounding_mask(d: dict) -> None:
    _ann(d, 5)["segmentation"] = rle.encode(np.zeros((36, 64), bool))


def _image_huge(d: dict) -> None:
    _img(d, 3).update(width=200_000, height=200_000)
    _ann(d, 5)["segmentation"] = {"size": [200_000, 200_000], "counts": encode_runs([200_000 * 200_000])}


HW = 64 * 36
GT_CASES: list[Case] = [
    _gt_case("rle_short", _rle_runs(5, [10, 10]), ["annotation 5: segmentation: runs cover 20 pixels",
                                                   "expected H·W = 36·64 = 2304", "too short"], "RLE runs"),
    _gt_case("rle_long", _rle_runs(5, [HW, 10, 5]), ["annotation 5: segmentation: runs cover 2319 pixels",
                                                     "too long"], "RLE runs"),
    _gt_case("rle_negative_run", _rle_runs(5, [HW + 5, -5]), ["annotation 5: segmentation:",
                                                              "a negative run length"], "RLE runs"),
    _gt_case("rle_cut_run", _rle_counts(5, "0o"), ["annotation 5: segmentation:", "the last run is cut"],
             "RLE runs"),
    _gt_case("rle_bad_characters", _rle_counts(5, "0\x00{é"), ["annotation 5: segmentation:",
                                                               "characters outside the RLE alphabet"], "RLE runs"),
    _gt_case("rle_endless_run", _rle_counts(5, "o" * 40 + "0"), ["annotation 5: segmentation:",
                                                                 "a run is longer than 7 characters"], "RLE runs"),
    _gt_case("rle_list_counts", _set("annotations", 5, segmentation={"size": [36, 64], "counts": [HW]}),
             ["annotation 5: segmentation: expected counts as a string, got list"], "RLE types"),
    _gt_case("rle_bool_size", _set("annotations", 5, segmentation={"size": [True, True], "counts": "1"}),
             ["annotation 5: segmentation: expected size [H, W] of ints in [1, "], "RLE types"),
    _gt_case("id_list", _set("images", 3, id=[3]), ["image at position 2: expected id as an integer"], "ids"),
    _gt_case("id_beyond_2_63", _set("images", 3, id=2**63), ["image at position 2: expected id as an integer "
                                                              "in [0, 2**63), got 9223372036854775808"], "ids"),
    _gt_case("id_float", _set("annotations", 5, id=5.0), ["annotation at position 4: expected id", "got 5.0"],
             "ids"),
    _gt_case("id_string", _set("categories", 1, id="1"), ["category at position 0: expected id", "got '1'"],
             "ids"),
    _gt_case("id_negative", _set("videos", 1, id=-1), ["video at position 0: expected id", "got -1"], "ids"),
    _gt_case("id_huge_int_literal", _huge_int_text, ["not readable as AVATAR-COCO JSON", "4300"], "ids"),
    _gt_case("foreign_key_list", _set("annotations", 5, category_id=[1]),
             ["annotation 5: expected category_id as an integer in [0, 2**63), got [1]"], "foreign keys"),
    _gt_case("foreign_key_bool", _set("images", 3, video_id=True), ["image 3: expected video_id", "got True"],
             "foreign keys"),
    _gt_case("foreign_key_2_64", _set("annotations", 5, image_id=2**64), ["annotation 5: expected image_id"],
             "foreign keys"),
    _gt_case("sounding_ids_nested", _set("images", 3, sounding_category_ids=[[1]]),
             ["image 3: expected sounding_category_ids as a list of integer ids, got [[1]]"], "foreign keys"),
    _gt_case("sounding_ids_not_list", _set("images", 3, sounding_category_ids={"a": 1}),
             ["image 3: expected sounding_category_ids as a list"], "foreign keys"),
    _gt_case("track_id_list", _set("annotations", 5, track_id=[1]), ["annotation 5: expected track_id"],
             "foreign keys"),
    _gt_case("nested_200000_deep", _deep, ["JSON nested too deeply"], "JSON"),
    _gt_case("not_json", lambda d: "{'info': 1", ["not valid UTF-8 JSON"], "JSON"),
    _gt_case("not_utf8", lambda d: b'{"info": "\xff"}', ["not valid UTF-8 JSON"], "JSON"),
    _gt_case("empty_file", lambda d: "", ["not valid UTF-8 JSON"], "JSON"),
    _gt_case("top_level_list", lambda d: "[]", ["expected a JSON object at the top level, got list"], "JSON"),
    _gt_case("licenses_not_list", lambda d: d.update(licenses=5), ["'licenses': expected a list, got int"],
             "JSON"),
    _gt_case("record_not_object", lambda d: d["annotations"].append(7), ["annotations[20]: expected an object"],
             "JSON"),
    _gt_case("version_unknown", lambda d: d["info"].update(version="9.0"), ["schema version 9.0 is not supported"],
             "JSON"),
    _gt_case("image_200000_square", _image_huge, ["image 3: image of 200000x200000 pixels is larger",
                                                  "refused before any mask is allocated"], "sizes"),
    _gt_case("image_zero_width", _set("images", 3, width=0), ["image 3: expected positive width/height"], "sizes"),
    _gt_case("image_nan_height", lambda d: None if _img(d, 3).update(height=float("nan")) else None,
             ["image 3: expected height as an integer", "nan"], "sizes"),
    _gt_case("frame_index_13_digits", _set("images", 3, frame_index=10**13),
             ["image 3: expected frame_index <= 999999999999"], "sizes"),
    _gt_case("off_screen_with_sounding", _off_screen_sounding,
             ["image 12 (off_screen): off-screen frames must have no sounding instance, found 1",
              "--allow-scenario-violations"], "scenario rules"),
    _gt_case("multi_entity_without_twin", _lone_multi_entity,
             ["image 7 (multi_entity): multi_entity does not fit 1 visible instance(s)"], "scenario rules"),
    _gt_case("single_with_two_sounding", _set("images", 4, scenario="single"),
             ["image 4 (single): single frames need exactly one sounding instance, found 2 (that is mixed)"],
             "scenario rules"),
    _gt_case("sounding_category_unlisted", _set("images", 3, sounding_category_ids=[2]),
             ["image 3 (single): sounding instance categories 1 are missing from sounding_category_ids"],
             "scenario rules"),
    _gt_case("empty_sounding_mask", _empty_sounding_mask,
             ["image 3 (", "no sounding instance with a non-empty mask"], "scenario rules"),
    _gt_case("no_frames", _no_frames, ["no frame to score", "found 0 frame(s)"], "empty ground truth"),
    _gt_case("no_frames_of_asked_scenario", lambda d: d.update(
        images=[im for im in d["images"] if im["scenario"] != "mixed"],
        annotations=[a for a in d["annotations"] if a["image_id"] not in (4, 5, 6)]),
        ["no frame to score: expected frames of mixed", "found 9 frame(s)"], "empty ground truth",
        args=("--scenarios", "mixed")),
    _gt_case("file_name_absolute", _set("images", 3, file_name="/etc/passwd"),
             ["image 3: expected file_name relative to its root, got the absolute path '/etc/passwd'"],
             "file names"),
    _gt_case("file_name_dotdot", _set("images", 3, file_name="../../etc/passwd"),
             ["image 3: expected file_name inside its root", "a '..' part"], "file names"),
    _gt_case("file_name_windows_drive", _set("images", 3, file_name="C:\\frames\\x.jpg"),
             ["image 3: expected file_name relative to its root"], "file names"),
    _gt_case("video_file_name_absolute", _set("videos", 1, file_name="/dev/zero"),
             ["video 1: expected file_name relative to its root"], "file names"),
    _gt_case("silent_flag_not_bool", lambda d: d["info"].update(silent_instances_annotated="no"),
             ["info.silent_instances_annotated: expected true or false, got 'no'"], "enums"),
    _gt_case("scenario_list", _set("images", 3, scenario=["single"]), ["image 3: expected scenario in"], "enums"),
    _gt_case("video_name_list", _set("videos", 1, name=["a"]), ["video 1: expected a non-empty name"], "enums"),
    _gt_case("dangling_image", _set("annotations", 5, image_id=999), ["annotation 5: image_id 999 does not exist"],
             "references"),
    _gt_case("duplicate_ids", _set("annotations", 5, id=6), ["duplicate annotation id(s): [6]"], "references"),
]

# Inputs that must score: the same checks pass them in both modes (exit 0).
GOOD_GT_CASES: list[Case] = [
    _gt_case("release_without_silent_instances", _lone_multi_entity_release, [], "scenario rules"),
]
for _case in GOOD_GT_CASES:
    _case.exit_code = 0
ALLOWED = _gt_case("off_screen_with_sounding_allowed", _off_screen_sounding,
                   ["WARNING", "break their scenario's definition and are scored anyway",
                    "off-screen frames must have no sounding instance"], "scenario rules",
                   args=("--allow-scenario-violations",))
ALLOWED.exit_code = 0
GOOD_GT_CASES.append(ALLOWED)

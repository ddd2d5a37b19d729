"""The bad-input corpus of avatar-eval: broken or hostile ground truth, submissions and frames (issue 17).

Each case builds its files under a folder and says what the message must contain: the record it concerns
(an annotation, an image, a frame and its file) and what was wrong. ``GT_CASES`` mutate a valid ground
truth (as a dict, or as raw text where JSON itself is the problem); ``SUB_CASES`` write a submission for
the valid ground truth. The tests run every case through the real CLI.
"""

from __future__ import annotations

import io
import json
import os
import struct
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_bench import rle
from avatar_bench.submission import write_submission
from avatar_bench.testing import make_gt, make_submission


def base_gt():
    """12 frames at 64x36 in 4 videos, three of each scenario (see the ids used below)."""
    return make_gt(12, width=64, height=36, seed=11, frames_per_video=3)


@dataclass
class Case:
    """One bad input: ``build(folder) -> (gt path, submission path, extra CLI args)`` and the expected text."""

    name: str
    build: Callable[[Path], tuple[Path, Path, list[str]]]
    expected: list[str]
    kind: str = "gt"  # gt | submission | frames
    exit_code: int = 2
    stands_for: str = ""  # the class of bad input this case is one instance of
    scoring_only: bool = False  # the expected text comes from writing outputs (--validate-only writes none)


def _write_good(folder: Path) -> tuple[Path, Path]:
    gt = base_gt()
    gt_path, sub_path = folder / "test.json", folder / "sub.npz"
    if not gt_path.exists():
        gt.save(gt_path)
        write_submission(sub_path, make_submission(gt, "blob", size=(16, 16)))
    return gt_path, sub_path


# ------------------------------------------------------------------------------------------ ground truth
def encode_runs(runs: list[int]) -> str:
    """Compressed counts of any run list, negative runs and wrong totals included (pycocotools' rleToString)."""
    out = []
    for i, c in enumerate(runs):
        x = c - runs[i - 2] if i > 2 else c
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = not ((ch & 0x10 == 0 and x == 0) or (ch & 0x10 and x == -1))
            out.append(chr(ch + (0x20 if more else 0) + 48))
    return "".join(out)


def _ann(d: dict, ann_id: int) -> dict:
    return next(a for a in d["annotations"] if a["id"] == ann_id)


def _img(d: dict, image_id: int) -> dict:
    return next(im for im in d["images"] if im["id"] == image_id)


def _gt_case(name: str, mutate: Callable[[dict], None | str | bytes], expected: list[str], stands_for: str,
             args: tuple[str, ...] = ()) -> Case:
    def build(folder: Path) -> tuple[Path, Path, list[str]]:
        _, sub_path = _write_good(folder)
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


# ------------------------------------------------------------------------------------------- submissions
def _npz_bytes(heat: dict) -> dict[str, bytes]:
    out = {}
    for key, arr in heat.items():
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
        out[f"{key}.npy"] = buf.getvalue()
    return out


def _good_members() -> dict[str, bytes]:
    return _npz_bytes(dict(make_submission(base_gt(), "noise", size=(8, 8)).items()))


def _write_zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED,
               flags: dict[str, int] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            zf.writestr(info, data)
    if flags:
        _patch_central_flags(path, flags)
    return path


def _patch_central_flags(path: Path, flags: dict[str, int]) -> None:
    data = bytearray(path.read_bytes())
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        name = bytes(data[pos + 46:pos + 46 + name_len]).decode()
        if name in flags:
            struct.pack_into("<H", data, pos + 8, struct.unpack_from("<H", data, pos + 8)[0] | flags[name])
        pos += 4
    path.write_bytes(bytes(data))


def _local_header(data: bytes, name: str) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.getinfo(name).header_offset


def _patch(path: Path, name: str, change: Callable[[bytearray, int], None]) -> Path:
    data = bytearray(path.read_bytes())
    change(data, _local_header(bytes(data), name))
    path.write_bytes(bytes(data))
    return path


def _corrupt_data(keep: int) -> Callable[[bytearray, int], None]:
    """Overwrite a member's compressed data with 0xff after its first ``keep`` bytes (LZMA: its 9-byte header;
    deflate: none, so the first block has the reserved type 3 and zlib fails)."""
    def change(data: bytearray, off: int) -> None:
        name_len, extra_len = struct.unpack_from("<HH", data, off + 26)
        start = off + 30 + name_len + extra_len + keep
        size = struct.unpack_from("<I", data, off + 18)[0] - keep
        data[start:start + size] = b"\xff" * size
    return change


def _flip_last_data_byte(data: bytearray, off: int) -> None:
    name_len, extra_len = struct.unpack_from("<HH", data, off + 26)
    size = struct.unpack_from("<I", data, off + 18)[0]
    data[off + 30 + name_len + extra_len + size - 1] ^= 0x01  # still a valid float, no longer the CRC's


def _sub_case(name: str, make: Callable[[Path], Path], expected: list[str], stands_for: str) -> Case:
    def build(folder: Path) -> tuple[Path, Path, list[str]]:
        gt_path, _ = _write_good(folder)
        return gt_path, make(folder / name), []

    return Case(name, build, expected, "submission", stands_for=stands_for)


def _members_with(**changes: bytes) -> dict[str, bytes]:
    return {**_good_members(), **{f"{k.lstrip('_')}.npy": v for k, v in changes.items()}}


def _pickle_npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array([[None]], dtype=object), allow_pickle=True)
    return buf.getvalue()


def _npy_header_cut(folder_path: Path) -> Path:
    good = _good_members()
    return _write_zip(folder_path.with_suffix(".npz"), {**good, "3.npy": good["3.npy"][:40]})


FRAME3 = "frame dm000000001_000000/000058 (image 3) (3.npy)"
SUB_CASES: list[Case] = [
    _sub_case("corrupt_deflate", lambda p: _patch(_write_zip(p.with_suffix(".npz"), _good_members()), "3.npy",
                                                   _corrupt_data(0)),
              [FRAME3, "corrupt deflate data", "invalid block type"], "zip data"),
    _sub_case("corrupt_lzma", lambda p: _patch(_write_zip(p.with_suffix(".npz"), _good_members(), zipfile.ZIP_LZMA),
                                               "3.npy", _corrupt_data(9)), [FRAME3, "corrupt LZMA data"], "zip data"),
    _sub_case("corrupt_bzip2", lambda p: _patch(_write_zip(p.with_suffix(".npz"), _good_members(),
                                                           zipfile.ZIP_BZIP2), "3.npy", _corrupt_data(4)),
              [FRAME3, "unreadable npy file"], "zip data"),
    _sub_case("bad_crc", lambda p: _patch(_write_zip(p.with_suffix(".npz"), _good_members(), zipfile.ZIP_STORED),
                                          "3.npy", _flip_last_data_byte), [FRAME3, "Bad CRC-32"], "zip data"),
    _sub_case("local_name_mismatch", lambda p: _patch(_write_zip(p.with_suffix(".npz"), _good_members()), "3.npy",
                                                      lambda d, o: d.__setitem__(o + 30, ord("9"))),
              [FRAME3, "damaged zip member", "File name in directory", "differ"], "zip headers"),
    _sub_case("local_magic_mismatch", lambda p: _patch(_write_zip(p.with_suffix(".npz"), _good_members()),
                                                       "3.npy", lambda d, o: d.__setitem__(slice(o, o + 4), b"PK\5\6")),
              [FRAME3, "Bad magic number for file header"], "zip headers"),
    _sub_case("flag_bit_5", lambda p: _write_zip(p.with_suffix(".npz"), _good_members(), flags={"3.npy": 0x20}),
              ["3.npy: uses compressed patched data (zip flag bit 5)"], "zip headers"),
    _sub_case("flag_bit_6", lambda p: _write_zip(p.with_suffix(".npz"), _good_members(), flags={"3.npy": 0x40}),
              ["3.npy: uses strong encryption (zip flag bit 6)"], "zip headers"),
    _sub_case("npy_header_cut", _npy_header_cut, [FRAME3, "truncated .npy header: expected 118 header bytes"],
              "npy headers"),
    _sub_case("npy_magic_only", lambda p: _write_zip(p.with_suffix(".npz"), _members_with(_3=b"\x93NUMPY\x01")),
              [FRAME3, "truncated .npy header: the file ends after 7 bytes"], "npy headers"),
    _sub_case("npy_header_not_a_dict", lambda p: _write_zip(p.with_suffix(".npz"), _members_with(
        _3=b"\x93NUMPY\x01\x00\x10\x00" + b"[1, 2, 3]      \n")), [FRAME3, "unreadable npy file"], "npy headers"),
    _sub_case("npy_pickle", lambda p: _write_zip(p.with_suffix(".npz"), _members_with(_3=_pickle_npy())),
              [FRAME3, "got dtype object"], "npy headers"),
    _sub_case("npy_huge_shape", lambda p: _write_zip(p.with_suffix(".npz"), _members_with(
        _3=b"\x93NUMPY\x01\x00" + struct.pack("<H", 70) + b"{'descr': '<f4', 'fortran_order': False, "
           b"'shape': (100000, 100000), }".ljust(69) + b"\n")), [FRAME3, "expected 1 <= H, W <= 8192"], "npy headers"),
    _sub_case("key_of_5000_digits", lambda p: _write_zip(p.with_suffix(".npz"), {
        **_good_members(), "1" * 5000 + ".npy": b""}), ["extra frame: there is no image with id 1111"], "keys"),
    _sub_case("key_unicode_digit", lambda p: _write_zip(p.with_suffix(".npz"), {
        **_good_members(), "dm000000001_000000/\u0663.npy": _good_members()["3.npy"]}),
        ["frame index '\u0663' is not a non-negative integer"], "keys"),
    _sub_case("archive_cut_in_half", lambda p: (
        lambda z: (z.write_bytes(z.read_bytes()[: z.stat().st_size // 2]), z)[1])(
        _write_zip(p.with_suffix(".npz"), _good_members())), ["not a readable zip archive"], "zip data"),
]



def _heat_with(**changes) -> dict:
    heat = dict(make_submission(base_gt(), "noise", size=(8, 8)).items())
    for key, value in changes.items():
        if value is None:
            del heat[int(key.lstrip("_"))]
        else:
            heat[int(key.lstrip("_"))] = value
    return heat


def _npz_of(**changes) -> Callable[[Path], Path]:
    return lambda p: write_submission(p.with_suffix(".npz"), _heat_with(**changes), validate=False)


def _dir_with(change: Callable[[Path], None]) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        write_submission(path, _heat_with())
        change(path)
        return path
    return make


def _swap(name: str, make: Callable[[Path], object]) -> Callable[[Path], None]:
    """Remove ``name`` from a directory submission and let ``make(path)`` put something else there."""
    def change(folder: Path) -> None:
        (folder / name).unlink()
        make(folder / name)
    return change


def _png(mode: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)  # incompressible: a long IDAT
    Image.fromarray(noise).convert(mode).save(buf, format="PNG")
    return buf.getvalue()


def _append_twice(path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of the duplicate name it is asked to write
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr("3.npy", b"x")
    return path


def _patch_central(path: Path, name: str, offset: int, value: bytes) -> Path:
    data = bytearray(path.read_bytes())
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46:pos + 46 + name_len]).decode() == name:
            data[pos + offset:pos + offset + len(value)] = value
        pos += 4
    path.write_bytes(bytes(data))
    return path


SUB_CASES += [
    _sub_case("missing_frame", _npz_of(_2=None), ["frame dm000000001_000000/000020 (image 2): missing"], "keys"),
    _sub_case("extra_frame", _npz_of(_999=np.zeros((8, 8), np.float32)), ["999.npy: extra frame: there is no "
                                                                           "image with id 999"], "keys"),
    _sub_case("unrecognised_key", lambda p: _write_zip(p.with_suffix(".npz"), {**_good_members(),
                                                                              "frame-one.npy": b""}),
              ["frame-one.npy: unrecognised key 'frame-one'"], "keys"),
    _sub_case("nan_values", _npz_of(_3=np.full((8, 8), np.nan, np.float32)), [FRAME3, "64 NaN and 0 inf"],
              "values"),
    _sub_case("values_above_1", _npz_of(_3=np.full((8, 8), 2, np.float32)), [FRAME3, "values outside [0, 1]"],
              "values"),
    _sub_case("three_dims", _npz_of(_3=np.zeros((2, 8, 8), np.float32)), [FRAME3, "expected a 2-D (H, W)"],
              "values"),
    _sub_case("int_dtype", _npz_of(_3=np.zeros((8, 8), np.uint8)), [FRAME3, "got dtype uint8", "PNG"], "values"),
    _sub_case("complex_dtype", _npz_of(_3=np.zeros((8, 8), np.complex64)), [FRAME3, "got dtype complex64"],
              "values"),
    _sub_case("empty_member", lambda p: _write_zip(p.with_suffix(".npz"), _members_with(_3=b"")),
              [FRAME3, "empty file (0 bytes)"], "zip data"),
    _sub_case("member_escapes", lambda p: _write_zip(p.with_suffix(".zip"), {**_good_members(), "../3.npy": b"x"}),
              ["../3.npy: path escapes the archive"], "archive safety"),
    _sub_case("member_absolute", lambda p: _write_zip(p.with_suffix(".zip"), {**_good_members(),
                                                                             "/etc/3.npy": b"x"}),
              ["/etc/3.npy: absolute path in the archive"], "archive safety"),
    _sub_case("member_encrypted", lambda p: _write_zip(p.with_suffix(".npz"), _good_members(), flags={"3.npy": 1}),
              ["3.npy: is encrypted"], "archive safety"),
    _sub_case("member_method_99", lambda p: _patch_central(_write_zip(p.with_suffix(".npz"), _good_members()),
                                                           "3.npy", 10, struct.pack("<H", 99)),
              ["3.npy: unsupported compression method 99"], "archive safety"),
    _sub_case("member_declared_huge", lambda p: _patch_central(_write_zip(p.with_suffix(".npz"), _good_members()),
                                                               "3.npy", 24, struct.pack("<I", 1 << 30)),
              ["3.npy: expands to 1073741824 bytes, more than the limit"], "archive safety"),
    _sub_case("member_twice", lambda p: _append_twice(_write_zip(p.with_suffix(".zip"), _good_members())),
              ["3.npy: appears twice in the archive"], "archive safety"),
    _sub_case("bzip2_bomb", lambda p: (lambda z: (zipfile.ZipFile(z, "a", zipfile.ZIP_BZIP2).writestr(
        "2.npy", b"\0" * (1 << 24)), z)[1])(_write_zip(p.with_suffix(".zip"), {
            k: v for k, v in _good_members().items() if k != "2.npy"})), ["2.npy: compression ratio", "zip bomb?"],
        "archive safety"),
    _sub_case("dir_symlink_member", _dir_with(_swap("3.npy", lambda f: f.symlink_to("/etc/passwd"))),
              ["3.npy: is a symbolic link (not followed)"], "archive safety"),
    _sub_case("dir_fifo_member", _dir_with(_swap("3.npy", os.mkfifo)), ["3.npy: not a regular file"],
              "archive safety"),
    _sub_case("dir_folder_named_npy", _dir_with(_swap("3.npy", lambda f: (f.mkdir(), (f / "x.npy").touch()))),
              ["3.npy/x.npy: extra frame: video '3.npy' is not in the ground truth"], "keys"),
    _sub_case("dir_unexpected_file", _dir_with(lambda d: (d / "notes.txt").write_text("x")),
              ["notes.txt: unexpected file (expected <key>.npy or <key>.png)"], "keys"),
    _sub_case("png_palette", _dir_with(_swap("3.npy", lambda f: f.with_suffix(".png").write_bytes(_png("P")))),
              ["frame dm000000001_000000/000058 (image 3) (3.png)", "single-channel 8- or 16-bit PNG, got mode P"],
              "png"),
    _sub_case("png_truncated", _dir_with(_swap("3.npy", lambda f: f.with_suffix(".png").write_bytes(
        _png("L")[:2000]))), ["frame dm000000001_000000/000058 (image 3) (3.png)", "unreadable png file"], "png"),
    _sub_case("png_is_a_jpeg", _dir_with(_swap("3.npy", lambda f: _save_jpeg(f.with_suffix(".png")))),
              ["(3.png)", "expected a PNG image, got JPEG"], "png"),
    _sub_case("npy_truncated_data", _dir_with(lambda d: (d / "3.npy").write_bytes((d / "3.npy").read_bytes()[:-4])),
              [FRAME3, "truncated: expected 256 bytes"], "npy headers"),
    _sub_case("pred_missing", lambda p: p / "nothing.npz", ["nothing.npz: no such file or directory"], "paths"),
    _sub_case("pred_wrong_suffix", lambda p: (p.with_suffix(".csv").write_text("1,2"), p.with_suffix(".csv"))[1],
              ["expected a directory, a .zip or a .npz of heatmaps, got a '.csv' file"], "paths"),
    _sub_case("pred_not_a_zip", lambda p: (p.with_suffix(".zip").write_bytes(b"PK garbage"), p.with_suffix(".zip"))[1],
              ["not a readable zip archive"], "paths"),
]


def _save_jpeg(path: Path) -> None:
    from PIL import Image

    Image.new("L", (8, 8)).save(path, format="JPEG")


# ------------------------------------------------------------------------------------------------ frames
def _frames_case(name: str, spoil: Callable[[Path, Path], list[str]], expected: list[str], exit_code: int,
                 scoring_only: bool = True) -> Case:
    """``spoil(frames root, folder) -> extra args`` breaks a folder of good frame images."""
    def build(folder: Path) -> tuple[Path, Path, list[str]]:
        from PIL import Image

        gt_path, sub_path = _write_good(folder)
        frames = folder / f"frames_{name}"
        for im in base_gt().images:
            (frames / im.file_name).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (im.width, im.height), (90, 120, 60)).save(frames / im.file_name)
        args = spoil(frames, folder)
        return gt_path, sub_path, ["--out", str(folder / f"out_{name}"), *args]

    return Case(name, build, expected, "frames", exit_code=exit_code, stands_for="frames and outputs",
                scoring_only=scoring_only)


def _truncate_all(frames: Path, folder: Path) -> list[str]:
    for path in frames.rglob("*.jpg"):
        path.write_bytes(path.read_bytes()[:200])
    return ["--frames", str(frames)]


def _link_out(frames: Path, folder: Path) -> list[str]:
    secret = folder / "outside.jpg"
    (frames / base_gt().images[0].file_name).rename(secret)
    for im in base_gt().images:
        (frames / im.file_name).unlink(missing_ok=True)
        (frames / im.file_name).symlink_to(secret)
    return ["--frames", str(frames)]


def _frames_file(frames: Path, folder: Path) -> list[str]:
    return ["--frames", str(frames / base_gt().images[0].file_name)]


def _out_file(frames: Path, folder: Path) -> list[str]:
    (folder / "taken").write_text("x")
    return ["--frames", str(frames), "--out", str(folder / "taken")]


FRAME_CASES: list[Case] = [
    _frames_case("truncated_jpeg", _truncate_all, ["WARNING: frame dm000000001_000000/000058 (image 3): ",
                                                   "frames_truncated_jpeg/dm000000001_000000/000058.jpg: "
                                                   "unreadable image (", "overlay skipped"], 0),
    _frames_case("symlink_out_of_frames", _link_out, ["leads outside the frames root", "not opened",
                                                      "overlay skipped"], 0),
    _frames_case("frames_not_a_directory", _frames_file, ["--frames", "expected a directory of frame images"], 2,
                 scoring_only=False),
    _frames_case("out_is_a_file", _out_file, ["--out", "taken: exists and is not a directory"], 2,
                 scoring_only=False),
]

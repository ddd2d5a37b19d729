"""Broken and hostile submissions, frames and outputs, for the valid GT of :func:`bad_inputs.base_gt`."""

from __future__ import annotations

import io
import os
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from avatar_bench.submission import write_submission
from avatar_bench.testing import make_submission
from tests.avatar_bench.bad_inputs import Case, base_gt, write_good


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
        gt_path, _ = write_good(folder)
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

"""The importer's fast paths against the slow, obvious ones they replace: orjson-first parsing against json.loads,
os-level reads against Path.read_bytes, clipping in plain Python against numpy's clip."""

from __future__ import annotations

import json
import random
import struct

import numpy as np
import pytest

from avatar_bench.errors import ReleaseError
from avatar_bench.release import import_release
from avatar_bench.release.fastread import loads, read_bytes
from avatar_bench.release.frames import _polygon

from .conftest import SQUARE, frame, write_frames


def _outcome(fn, data: bytes):
    """``("ok", repr of the value)`` or ``("error", type, message)``: repr tells 1 from 1.0 and -0.0 from 0.0."""
    try:
        return "ok", repr(fn(data))
    except (ValueError, RecursionError) as exc:
        return "error", type(exc).__name__, str(exc)


EDGE_CASES = [
    b"18446744073709551616", b"-9223372036854775809", b"18446744073709551615", b"[123456789012345678901]",
    b'{"instance_id": 99999999999999999999}', b"1e400", b"-1e400", b"[1e-400]", b"NaN", b"[Infinity, -Infinity]",
    b'"\\ud800"', b'"\\ud83d\\ude00"', b'"\\ude00\\ud83d"', b"\xef\xbb\xbf{}", b"[" * 1500 + b"]" * 1500,
    b"[" * 900 + b"]" * 900, b'{"a": 1, "b": 2, "a": 3}', b"-0", b"-0.0", b"0.30000000000000004441", b"1E2",
    b'"a\\u0000b"', b'"\t"', b"[1,]", b"01", b"1.", b".5", b"", b" ", b"{}x", b'"\xff"', b'"\xed\xa0\x80"',
    '{"é": "\u2028"}'.encode(), '{"a": 1}'.encode("utf-16"), '{"a": 1}'.encode("utf-32-le"),
    b"2.2250738585072011e-308", b"4.9e-324", b"1.7976931348623157e308", b"1.7976931348623159e308",
    b'{"original_width": 640, "original_height": 360, "annotations": [{"segmentation": [[1.5, 2, 3e1, 4]]}]}',
]


@pytest.mark.parametrize("data", EDGE_CASES)
def test_loads_gives_what_json_loads_gives(data):
    assert _outcome(loads, data) == _outcome(json.loads, data)


def _value(rng: random.Random, depth: int = 0):
    kind = rng.random()
    if depth > 3 or kind < 0.5:
        return rng.choice([
            lambda: rng.randint(-2**70, 2**70) if rng.random() < 0.2 else rng.randint(-10**6, 10**6),
            lambda: struct.unpack("d", rng.randbytes(8))[0],  # any double: NaN, inf, subnormals, -0.0
            lambda: round(rng.uniform(-700, 700), rng.randint(0, 17)),
            lambda: "".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0, 0x10FFFF)])) for _ in range(5)),
            lambda: rng.choice([True, False, None]),
        ])()
    if kind < 0.75:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 6))]
    return {str(_value(rng, 4)): _value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def test_loads_agrees_with_json_on_random_texts_and_their_mutations():
    rng = random.Random(7)
    for _ in range(3000):
        text = json.dumps(_value(rng), ensure_ascii=rng.random() < 0.5)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from ensure_ascii=False
            data = text.encode("utf-8", "surrogatepass")
        assert _outcome(loads, data) == _outcome(json.loads, data), data[:200]
        cut = bytearray(data)
        for _ in range(rng.randint(1, 3)):  # a few bytes deleted, replaced or inserted
            k = rng.randrange(len(cut) + 1)
            op = rng.random()
            if op < 0.33 and k < len(cut):
                del cut[k]
            elif op < 0.66 and k < len(cut):
                cut[k] = rng.choice(b'0123456789.eE-+,:[]{}" \\u\xff')
            else:
                cut[k:k] = bytes([rng.choice(b'0123456789.eE-+,:[]{}" nNI')])
        assert _outcome(loads, bytes(cut)) == _outcome(json.loads, bytes(cut)), bytes(cut)[:200]


@pytest.mark.parametrize("size", [0, 1, 600, 65536, 65537, 300_000])
def test_read_bytes_reads_every_byte(tmp_path, size):
    path = tmp_path / "f.json"
    path.write_bytes(random.Random(size).randbytes(size))
    assert read_bytes(str(path)) == path.read_bytes()


def _numpy_polygon(coords, w: int, h: int):
    """The importer's clipping before it was moved to plain Python: float64 array, clipped, points outside."""
    arr = np.asarray(coords, dtype=np.float64)
    xs, ys = arr[0::2], arr[1::2]
    outside = int(((xs < 0) | (xs > w) | (ys < 0) | (ys > h)).sum())
    return np.clip(xs, 0, w), np.clip(ys, 0, h), outside


def _coordinate(rng: random.Random, w: int, h: int):
    kind = rng.random()
    if kind < 0.3:
        return rng.uniform(-20, w + 20)
    if kind < 0.5:
        return rng.randint(-5, w + 5)
    if kind < 0.6:
        return rng.choice([0, w, h, -0.0, 0.0])
    if kind < 0.95:
        return rng.uniform(0, min(w, h))
    return rng.choice([-1e300, 1e300, True, False, 2**60, -2**60])


def test_clipping_equals_numpy_clip_of_the_float64_array():
    rng = random.Random(3)
    for _ in range(4000):
        w, h = rng.choice([(64, 48), (640, 360), (7, 3)])
        n = rng.choice([rng.randint(3, 40), rng.randint(41, 150)])  # both sides of SMALL_POLYGON
        coords = [_coordinate(rng, w, h) for _ in range(2 * n)]
        out = []
        got = _polygon(coords, w, h, "f annotation 0", 0, out)
        xs, ys, outside = _numpy_polygon(coords, w, h)
        got = np.asarray(got, dtype=np.float64)  # what pycocotools rasterises
        assert np.array_equal(got[0::2], xs) and np.array_equal(got[1::2], ys)
        assert [p.detail for p in out] == ([f"{outside} of {n} point(s) outside the {w}x{h} frame, clipped to it"]
                                           if outside else [])


def test_text_numbers_keep_their_warning_even_inside_the_frame():
    """Numbers given as text go through numpy, which has always warned "0 of n outside": kept, byte for byte."""
    out = []
    got = _polygon(["1", 1, 5, 1, 5, 5], 64, 48, "f annotation 0", 0, out)
    assert got.tolist() == [1.0, 1.0, 5.0, 1.0, 5.0, 5.0]
    assert [p.detail for p in out] == ["0 of 3 point(s) outside the 64x48 frame, clipped to it"]


def test_a_coordinate_too_large_for_a_float_is_a_malformed_polygon(tmp_path):
    """It raised OverflowError (a traceback) before; now it is a named warning of its file."""
    write_frames(tmp_path, {"abcdefghijk_00010/00005": frame(polygons=SQUARE),
                            "abcdefghijk_00010/00007": frame(polygons=[[0, 0, 10**400, 5, 5, 5]])})
    found = [(p.code, str(p)) for p in import_release(tmp_path).warnings]
    assert found[0][0] == "malformed_polygon" and found[0][1].startswith("abcdefghijk_00010/00007.json annotation 0")
    assert [code for code, _ in found] == ["malformed_polygon", "no_mask", "unscorable_frame"]


@pytest.mark.parametrize("counts", [[10**30], [-5, 3]])
def test_rle_counts_out_of_range_are_an_error_of_their_file(tmp_path, counts):
    """They raised OverflowError (a traceback) before; now they are a malformed_annotation, like other bad RLEs."""
    write_frames(tmp_path, {"abcdefghijk_00010/00005": frame(polygons=SQUARE),
                            "abcdefghijk_00010/00007": frame(polygons={"size": [48, 64], "counts": counts})})
    with pytest.raises(ReleaseError) as info:
        import_release(tmp_path)
    assert len(info.value.problems) == 1 and info.value.problems[0].startswith("abcdefghijk_00010/00007.json")
    assert "unreadable RLE" in info.value.problems[0] and "[malformed_annotation]" in info.value.problems[0]

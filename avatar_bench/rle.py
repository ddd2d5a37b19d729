"""COCO RLE helpers on top of ``pycocotools.mask``, and the exact check of RLE runs.

The RLE contract (pycocotools ``mask.py``): a mask of shape (H, W) is run-length encoded in column-major
(Fortran) order; ``{"size": [H, W], "counts": str}``. In AVATAR-COCO files ``counts`` is always the
compressed UTF-8 string form, never a list or bytes, so the files stay JSON and load in ``COCO`` as they are.

pycocotools trusts the runs: when they add up to less than H·W its decoder leaves the rest of the mask
uninitialised (the same file scores differently from run to run), when they add up to more it writes past
the mask. :func:`check_rles` decodes the run lengths of many strings at once (vectorised, ~25 ns a
character) and refuses every string whose runs do not cover exactly H·W pixels, so nothing unchecked ever
reaches pycocotools' decoder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

RLE = dict[str, Any]
MAX_RUN_CHARS = 7  # 35 bits: far above any run of an image the format accepts
MAX_SIDE = 1 << 31  # an RLE side beyond this is no mask (images are refused far below: avatar_bench.checks)
_CHUNK_CHARS = 1 << 19  # characters decoded per batch: the work arrays stay in the CPU cache


def encode(mask: np.ndarray) -> RLE:
    """Encode a 2-D boolean/0-1 mask (H, W) into a JSON-ready RLE with a ``str`` ``counts``."""
    if mask.ndim != 2:
        raise ValueError(f"expected a 2-D mask (H, W), got shape {mask.shape}")
    rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def _to_c(rle: Mapping[str, Any]) -> dict[str, Any]:
    """Turn a JSON RLE (string counts) or an uncompressed RLE (list counts) into pycocotools' form."""
    counts = rle["counts"]
    h, w = (int(v) for v in rle["size"])
    if isinstance(counts, list):
        return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return {"size": [h, w], "counts": counts}


def decode(rle: Mapping[str, Any]) -> np.ndarray:
    """Decode an RLE into a boolean mask of shape ``rle["size"]``."""
    return mask_utils.decode(_to_c(rle)).view(bool)  # pycocotools gives 0/1 uint8: a view, no copy


def area(rle: Mapping[str, Any]) -> int:
    return int(mask_utils.area(_to_c(rle)))


def bbox(rle: Mapping[str, Any]) -> list[float]:
    """COCO ``[x, y, w, h]`` box of the mask (zeros for an empty mask)."""
    return [float(v) for v in mask_utils.toBbox(_to_c(rle))]


def union(rles: Iterable[Mapping[str, Any]], size: tuple[int, int]) -> np.ndarray:
    """Boolean union of several RLE masks of the given (H, W) size; an empty list gives an all-False mask."""
    rles = [_to_c(r) for r in rles]
    if not rles:
        return np.zeros(size, dtype=bool)
    if len(rles) == 1:
        return mask_utils.decode(rles[0]).view(bool)
    return mask_utils.decode(mask_utils.merge(rles, intersect=False)).view(bool)


# ------------------------------------------------------------------------------------------ exact run check
@dataclass(frozen=True)
class RunStats:
    """Run lengths of compressed count strings, one entry per string.

    ``pixels``: sum of all runs; ``area``: sum of the odd (foreground) runs; ``defect``: why the string is
    not a well-formed run list (a character outside the RLE alphabet, a run cut at the end of the string, a
    run of more than :data:`MAX_RUN_CHARS` characters, a negative run), or None.
    """

    pixels: np.ndarray
    area: np.ndarray
    defect: list[str | None]


def run_stats(counts: Sequence[str]) -> RunStats:
    """Decode the run lengths of many compressed count strings (pycocotools' ``rleFrString``), vectorised."""
    parts, i = [], 0
    while i < len(counts):
        j, size = i, 0
        while j < len(counts) and (size < _CHUNK_CHARS or j == i):
            size += len(counts[j])
            j += 1
        parts.append(_chunk_stats(counts[i:j]))
        i = j
    if not parts:
        return RunStats(np.zeros(0, np.int64), np.zeros(0, np.int64), [])
    pixels, area_, flags = (np.concatenate(p) for p in zip(*parts, strict=True))
    reasons = ("characters outside the RLE alphabet '0'..'o'", "the last run is cut (continuation bit set)",
               f"a run is longer than {MAX_RUN_CHARS} characters", "a negative run length")
    defect = [None if not f.any() else reasons[int(np.argmax(f))] for f in flags] if flags.any() else \
        [None] * len(pixels)
    return RunStats(pixels, area_, defect)


def _ascii_bytes(counts: Sequence[str], bad: np.ndarray, lens: np.ndarray) -> bytes:
    try:
        return "".join(counts).encode("ascii")
    except UnicodeEncodeError:
        bad[:] = ~np.fromiter((s.isascii() for s in counts), bool, len(counts))
        lens[bad] = 0
        return "".join(s for s, b in zip(counts, bad, strict=True) if not b).encode("ascii")


def _run_values(v: np.ndarray, ends: np.ndarray, vlen: np.ndarray) -> np.ndarray:
    """The signed value of each run code: 5 bits a character, least significant first, sign bit 0x10 last."""
    last = v[ends]
    x = (last & 0x1F).astype(np.int64) << (5 * (vlen - 1))
    multi = np.flatnonzero(vlen > 1)
    for j in range(1, MAX_RUN_CHARS):
        if not len(multi):
            break
        x[multi] += (v[ends[multi] - j] & 0x1F).astype(np.int64) << (5 * (vlen[multi] - 1 - j))
        multi = multi[vlen[multi] > j + 1]
    x -= ((last & 0x10) != 0).astype(np.int64) << (5 * vlen)
    return x


def _chunk_stats(counts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(counts)
    lens = np.fromiter(map(len, counts), np.int64, n)
    flags = np.zeros((n, 4), bool)  # bad character, cut last run, too long a run, negative run
    bad = np.zeros(n, bool)
    v = np.frombuffer(_ascii_bytes(counts, bad, lens), np.uint8) - np.uint8(48)
    flags[:, 0] = bad
    str_end = np.cumsum(lens)
    wrong = np.flatnonzero(v > 63)
    if len(wrong):
        flags[np.searchsorted(str_end, wrong, side="right"), 0] = True
    end = (v & 0x20) == 0  # a character without the continuation bit ends a run
    nz = lens > 0
    last = str_end[nz] - 1
    flags[nz, 1] = ~end[last]
    end[last] = True  # a run never continues into the next string
    ends = np.flatnonzero(end)
    vlen = np.diff(ends, prepend=-1)
    nv = np.zeros(n, np.int64)
    nv[nz] = np.diff(np.cumsum(end)[last], prepend=0)
    too_long = np.flatnonzero(vlen > MAX_RUN_CHARS)
    if len(too_long):
        flags[np.searchsorted(np.cumsum(nv), too_long, side="right"), 2] = True
        np.minimum(vlen, MAX_RUN_CHARS, out=vlen)
    pixels, area_, negative = _undelta(_run_values(v, ends, vlen), nv, nz)
    flags[:, 3] = negative
    return pixels, area_, flags


def _undelta(x: np.ndarray, nv: np.ndarray, nz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per string: sum of runs, sum of odd runs, any negative run. Run m >= 3 is stored as a delta against run
    m - 2 (``rleFrString``), so runs are prefix sums per parity: each string is laid out from an even slot of
    a two-column grid and summed down the columns."""
    n = len(nv)
    pixels, area_, negative = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, bool)
    if not len(x):
        return pixels, area_, negative
    padded = nv + (nv & 1)
    start = np.cumsum(padded) - padded
    first_value = np.cumsum(nv) - nv
    grid = np.zeros(int(padded.sum()), np.int64)
    grid[np.arange(len(x)) - np.repeat(first_value - start, nv)] = x
    head = start[nz]  # slot of run 0: absolute, and not part of the even prefix sums (those start at run 2)
    run0 = grid[head].copy()
    grid[head] = 0
    rows = grid.reshape(-1, 2)
    np.cumsum(rows, axis=0, out=rows)
    row0 = head // 2
    before = np.zeros((len(row0), 2), np.int64)
    before[row0 > 0] = rows[row0[row0 > 0] - 1]
    rows -= np.repeat(before, padded[nz] // 2, axis=0)
    grid[head] = run0
    odd = nz & (nv % 2 == 1)
    grid[start[odd] + nv[odd]] = 0  # the padding slot repeats the last odd prefix sum
    pixels[nz] = np.add.reduceat(grid, head)
    area_[nz] = np.add.reduceat(rows[:, 1], row0)
    negative[nz] = np.minimum.reduceat(np.minimum(rows[:, 0], rows[:, 1]), row0) < 0
    return pixels, area_, negative


def _size_problem(rle: Any) -> str | None:
    if not isinstance(rle, Mapping):
        return f"expected an RLE object {{size, counts}}, got {type(rle).__name__}"
    size, counts = rle.get("size"), rle.get("counts")
    if not (isinstance(size, list | tuple) and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_SIDE for v in size)):
        return f"expected size [H, W] of ints in [1, {MAX_SIDE}], got {_short(size)}"
    if not isinstance(counts, str):
        return f"expected counts as a string, got {type(counts).__name__}"
    return None


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def check_rles(rles: Sequence[Any]) -> tuple[list[str | None], np.ndarray]:
    """Check JSON RLEs exactly, without decoding any mask.

    Returns:
        For each RLE, None if its runs cover exactly H·W pixels (else why not), and its area (foreground
        pixels; -1 where the RLE is bad).
    """
    why: list[str | None] = [_size_problem(r) for r in rles]
    good = [i for i, w in enumerate(why) if w is None]
    areas = np.full(len(rles), -1, np.int64)
    stats = run_stats([rles[i]["counts"] for i in good])
    sizes = np.array([rles[i]["size"] for i in good], np.int64).reshape(-1, 2)
    expected = sizes[:, 0] * sizes[:, 1]
    fine = (stats.pixels == expected) & np.array([d is None for d in stats.defect], bool)
    areas[np.array(good, np.int64)[fine]] = stats.area[fine]
    for j in np.flatnonzero(~fine):
        (h, w), i = sizes[j], good[j]
        if stats.defect[j] is not None:
            why[i] = f"counts do not decode: {stats.defect[j]}"
        else:
            kind = "short" if stats.pixels[j] < h * w else "long"
            why[i] = (f"runs cover {int(stats.pixels[j])} pixels, expected H·W = {h}·{w} = {h * w} "
                      f"(counts too {kind})")
    return why, areas


def is_valid(rle: Any) -> str | None:
    """Return ``None`` if ``rle`` is a well-formed JSON RLE (runs cover exactly H·W), else what is wrong."""
    return check_rles([rle])[0][0]

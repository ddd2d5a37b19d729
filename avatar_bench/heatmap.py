"""Decoding and checking one heatmap of a submission (DESIGN §4): ``.npy`` (no pickles) and ``.png``.

:func:`read_heatmap` decodes one file's bytes into a 2-D array, refusing anything else with
:class:`BadHeatmap` (the caller names the frame and the file): a ``.npy`` header cut anywhere, data cut short
or followed by extra bytes, dtypes other than float16/32/64 or bool, sides over ``Limits.max_side``, PNGs that
are not one 8/16/1-bit channel. :func:`read_errors` turns what reading the bytes can raise (a damaged zip
member, corrupt deflate/LZMA data, a bad CRC, a vanished file) into the same error. :func:`value_problem` and
:func:`check_heatmap` check values (NaN/inf, range) of decoded and in-memory maps.
"""

from __future__ import annotations

import io
import lzma
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import numpy as np

from avatar_bench.submission_io import Limits


class BadHeatmap(ValueError):
    """One heatmap cannot be used; the message says why (the caller adds which frame)."""


# What opening and reading one member or file can raise on bad bytes: a local header that does not match the
# central directory (BadZipFile), a bad CRC, corrupt deflate (zlib.error) or LZMA data, a method zipfile cannot
# read (NotImplementedError), a truncated stream (EOFError), a file that vanished or is unreadable (OSError).
READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, NotImplementedError)


@contextmanager
def read_errors(kind: str) -> Iterator[None]:
    """Turn the errors of reading one heatmap's bytes into :class:`BadHeatmap` (the caller names the frame)."""
    try:
        yield
    except BadHeatmap:
        raise
    except READ_ERRORS as exc:
        what = _READ_ERROR_NAMES.get(type(exc), type(exc).__name__)
        raise BadHeatmap(f"unreadable {kind} file ({what}: {exc})") from None


_READ_ERROR_NAMES = {zlib.error: "corrupt deflate data", lzma.LZMAError: "corrupt LZMA data",
                     zipfile.BadZipFile: "damaged zip member"}


def read_heatmap(fh: BinaryIO, kind: str, limits: Limits) -> np.ndarray:
    """Decode one heatmap: a 2-D float/bool array (npy) or float32 in [0, 1] (png). Raises BadHeatmap."""
    with read_errors(kind):
        if kind == "npy":
            return _read_npy(fh, limits)
        try:
            return _read_png(fh, limits)
        except (BadHeatmap, *READ_ERRORS):
            raise
        except Exception as exc:  # PIL raises SyntaxError, struct.error... on garbage PNG bytes
            raise BadHeatmap(f"unreadable png file ({type(exc).__name__}: {exc})") from None


def _check_shape(shape: tuple, limits: Limits) -> None:
    if len(shape) != 2:
        raise BadHeatmap(f"expected a 2-D (H, W) heatmap, got shape {tuple(shape)}")
    if min(shape) < 1 or max(shape) > limits.max_side:
        raise BadHeatmap(f"expected 1 <= H, W <= {limits.max_side}, got shape {tuple(shape)}")


_HEADER_CACHE: dict[bytes, tuple] = {}  # raw .npy header -> (shape, fortran, dtype); parsing costs ~0.1 ms


def _npy_header(fh: BinaryIO) -> tuple[tuple, bool, np.dtype]:
    lead = fh.read(8)
    if lead[:6] != np.lib.format.MAGIC_PREFIX[:len(lead)] or not lead:
        raise BadHeatmap("not a .npy file (bad magic bytes)")
    if len(lead) < 8:
        raise BadHeatmap(f"truncated .npy header: the file ends after {len(lead)} bytes")
    major = lead[6]
    if major not in (1, 2):
        raise BadHeatmap(f"unsupported .npy format version {major}.{lead[7]}")
    size_bytes = fh.read(2 if major == 1 else 4)
    hlen = int.from_bytes(size_bytes, "little")
    if len(size_bytes) != (2 if major == 1 else 4) or hlen > 10_000:
        raise BadHeatmap("corrupt .npy header")
    header = fh.read(hlen)
    if len(header) != hlen:
        raise BadHeatmap(f"truncated .npy header: expected {hlen} header bytes, found {len(header)}")
    parsed = _HEADER_CACHE.get(lead + header)
    if parsed is None:
        buf = io.BytesIO(lead + size_bytes + header)
        np.lib.format.read_magic(buf)
        reader = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        parsed = reader(buf)
        if len(_HEADER_CACHE) < 256:
            _HEADER_CACHE[lead + header] = parsed
    return parsed


def _read_npy(fh: BinaryIO, limits: Limits) -> np.ndarray:
    shape, fortran, dtype = _npy_header(fh)
    if dtype.hasobject or dtype.kind not in "fb" or dtype.itemsize > 8:
        raise BadHeatmap(f"expected float16/32/64 (or bool) values, got dtype {dtype}"
                         + (" (save 8-bit maps as PNG or divide by 255)" if dtype.kind in "iu" else ""))
    _check_shape(shape, limits)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    data = fh.read(nbytes)
    if len(data) != nbytes:
        raise BadHeatmap(f"truncated: expected {nbytes} bytes of data for shape {tuple(shape)}, found {len(data)}")
    if fh.read(1):  # reading to the end also makes zipfile check the member's CRC
        raise BadHeatmap(f"unexpected bytes after the {nbytes} bytes of data of shape {tuple(shape)}")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _read_png(fh: BinaryIO, limits: Limits) -> np.ndarray:
    from PIL import Image  # PIL is a core dependency, imported here to keep avatar-eval's start fast

    with Image.open(io.BytesIO(fh.read())) as img:
        if img.format != "PNG":
            raise BadHeatmap(f"expected a PNG image, got {img.format}")
        _check_shape((img.height, img.width), limits)
        if img.mode == "1":
            return np.asarray(img, dtype=np.float32)
        scale = {"L": 255.0, "I;16": 65535.0, "I;16B": 65535.0}.get(img.mode)
        if scale is None:
            raise BadHeatmap(f"expected a single-channel 8- or 16-bit PNG, got mode {img.mode}")
        return np.asarray(img).astype(np.float32) / np.float32(scale)


def value_problem(arr: np.ndarray) -> str | None:
    """Why a decoded heatmap's values are unusable (NaN/inf, outside [0, 1]), or None."""
    if arr.dtype == bool:
        return None
    lo, hi = float(arr.min()), float(arr.max())
    if np.isfinite(lo) and np.isfinite(hi):
        if lo < 0.0 or hi > 1.0:
            return f"values outside [0, 1]: min {lo:.4g}, max {hi:.4g}"
        return None
    n_nan = int(np.count_nonzero(np.isnan(arr)))
    n_inf = int(np.count_nonzero(np.isinf(arr)))
    return f"{n_nan} NaN and {n_inf} inf value(s) (expected finite values in [0, 1])"


def check_heatmap(arr: np.ndarray) -> str | None:
    """Why an in-memory heatmap is not a valid submission entry (dtype, dims, NaN/inf, range), or None."""
    arr = np.asarray(arr)
    if arr.dtype.hasobject or arr.dtype.kind not in "fb" or arr.dtype.itemsize > 8:
        return f"expected float16/32/64 (or bool) values, got dtype {arr.dtype}"
    if arr.ndim != 2 or min(arr.shape) < 1:
        return f"expected a 2-D (H, W) heatmap, got shape {arr.shape}"
    return value_problem(arr)


def as_float(arr: np.ndarray) -> np.ndarray:
    """float32 for bool/float16, float32/float64 as stored (native byte order)."""
    if arr.dtype.kind == "b" or arr.dtype.itemsize < 4:
        return arr.astype(np.float32)
    return arr.astype(arr.dtype.newbyteorder("="), copy=False)

"""COCO RLE helpers on top of ``pycocotools.mask``.

The RLE contract (pycocotools ``mask.py``): a mask of shape (H, W) is run-length encoded in column-major
(Fortran) order; ``{"size": [H, W], "counts": str}``. In AVATAR-COCO files ``counts`` is always the
compressed UTF-8 string form, never a list or bytes, so the files stay JSON and load in ``COCO`` as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

RLE = dict[str, Any]


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


def is_valid(rle: Any) -> str | None:
    """Return ``None`` if ``rle`` is a well-formed JSON RLE, else a short description of what is wrong."""
    if not isinstance(rle, Mapping):
        return f"expected an RLE object {{size, counts}}, got {type(rle).__name__}"
    size, counts = rle.get("size"), rle.get("counts")
    if not (isinstance(size, list | tuple) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        return f"expected size [H, W] of positive ints, got {size!r}"
    if not isinstance(counts, str):
        return f"expected counts as a string, got {type(counts).__name__}"
    try:
        decoded_area = mask_utils.area(_to_c(rle))
    except Exception as exc:  # pycocotools raises plain exceptions on garbage counts
        return f"counts do not decode: {exc}"
    if decoded_area > size[0] * size[1]:
        return "counts describe more pixels than size allows"
    return None

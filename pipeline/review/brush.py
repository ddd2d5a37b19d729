"""Exact conversions between Label Studio brush RLE and COCO RLE.

Label Studio stores a brush mask as the RLE (thi-ng rle-pack) of an RGBA image flattened to ``H*W*4`` bytes;
the alpha channel is the mask. ``label_studio_sdk.converter.brush`` encodes (``mask2rle``) and decodes
(``decode_rle``) it. Masks pushed by the pipeline are written with value 255 in every channel; strokes painted in
the browser have alpha 255 inside and anti-aliased edges (alpha 1..254: measured on a stroke drawn in Label
Studio 1.23.2, kept in ``tests/review/data/ui_brush_stroke.json``). A pixel belongs to the mask when its alpha is
at least 128, the half-way rule of the SDK's ``image2rle``, so the soft edge neither grows nor shrinks the mask.

COCO RLE is column-major ``{"size": [H, W], "counts": str}`` (``avatar_bench.rle``). The round trip
mask -> brush -> mask -> COCO is exact: no polygons are involved (Label Studio's own COCO export goes through
polygons and drops brush masks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from avatar_bench import rle as coco_rle

ALPHA_THRESHOLD = 128


class BrushError(ValueError):
    """A brush RLE that does not describe a mask of the expected size."""


def _brush_module():
    from label_studio_sdk.converter import brush  # heavy (pulls the SDK): imported where used

    return brush


def mask_to_brush(mask: np.ndarray) -> list[int]:
    """Encode a 2-D boolean mask (H, W) as a Label Studio brush RLE (list of byte values)."""
    if mask.ndim != 2:
        raise BrushError(f"expected a 2-D mask (H, W), got shape {mask.shape}")
    return _brush_module().mask2rle(np.where(mask, 255, 0).astype(np.uint8))


def brush_to_mask(rle: Sequence[int], height: int, width: int) -> np.ndarray:
    """Decode a brush RLE into a boolean mask (H, W); :class:`BrushError` when its size does not match."""
    if not isinstance(rle, list | tuple) or not rle or not all(isinstance(v, int) and 0 <= v < 256 for v in rle):
        raise BrushError("expected the brush RLE as a non-empty list of byte values")
    data = bytes(rle)
    if len(data) < 7:
        raise BrushError(f"brush RLE too short ({len(data)} bytes)")
    declared = int.from_bytes(data[:4], "big")  # rle-pack header: number of values, 32 bits
    if declared != height * width * 4:
        raise BrushError(f"brush mask holds {declared} values, expected {height}x{width}x4 = {height * width * 4}")
    try:
        flat = _brush_module().decode_rle(data)
    except (ValueError, IndexError) as exc:  # truncated bit stream
        raise BrushError(f"brush RLE does not decode: {exc}") from None
    return flat.reshape(height, width, 4)[:, :, 3] >= ALPHA_THRESHOLD


def brush_to_coco(rle: Sequence[int], height: int, width: int) -> dict[str, Any]:
    """Brush RLE -> COCO RLE (``counts`` as str) of the same pixels."""
    return coco_rle.encode(brush_to_mask(rle, height, width))


def coco_to_brush(rle: dict[str, Any]) -> list[int]:
    """COCO RLE -> brush RLE of the same pixels."""
    return mask_to_brush(coco_rle.decode(rle))

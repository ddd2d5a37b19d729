"""Brush RLE <-> COCO RLE: exact on hand-made and random masks, strict on sizes (no server needed)."""

import numpy as np
import pytest
from label_studio_sdk.converter.brush import decode_rle, encode_rle

from avatar_bench import rle as coco_rle
from pipeline.review.brush import BrushError, brush_to_coco, brush_to_mask, coco_to_brush, mask_to_brush


def test_hand_made_mask_round_trips_exactly():
    mask = np.zeros((4, 6), bool)
    mask[1:3, 2:5] = True  # 6 pixels
    brush = mask_to_brush(mask)
    flat = decode_rle(bytes(brush)).reshape(4, 6, 4)
    assert (flat[..., 3] == np.where(mask, 255, 0)).all()  # alpha carries the mask
    assert (brush_to_mask(brush, 4, 6) == mask).all()
    coco = brush_to_coco(brush, 4, 6)
    assert coco == coco_rle.encode(mask) and coco_rle.area(coco) == 6
    assert coco_rle.bbox(coco) == [2.0, 1.0, 3.0, 2.0]


@pytest.mark.parametrize("seed", range(12))
def test_random_masks_round_trip_through_both_formats(seed):
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    mask = rng.random((h, w)) < rng.choice([0.0, 0.1, 0.5, 0.9, 1.0])
    coco = coco_rle.encode(mask)
    brush = coco_to_brush(coco)
    assert (brush_to_mask(brush, h, w) == mask).all()
    assert brush_to_coco(brush, h, w) == coco  # same string: exactly the same pixels


def test_alpha_threshold_is_half_way():
    # RGBA written by hand: alpha 127 is outside, 128 inside, colour channels ignored.
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0, 0] = (255, 255, 255, 127)
    rgba[0, 1] = (0, 0, 0, 128)
    rgba[0, 2] = (10, 20, 30, 255)
    brush = encode_rle(rgba.ravel())
    assert brush_to_mask(brush, 1, 3).tolist() == [[False, True, True]]


def test_wrong_size_and_garbage_are_refused():
    brush = mask_to_brush(np.ones((5, 5), bool))
    with pytest.raises(BrushError, match="expected 5x6x4 = 120"):
        brush_to_mask(brush, 5, 6)
    with pytest.raises(BrushError, match="list of byte values"):
        brush_to_mask("abc", 5, 5)
    with pytest.raises(BrushError):
        brush_to_mask(brush[:3], 5, 5)
    with pytest.raises(BrushError, match="2-D"):
        mask_to_brush(np.ones((2, 2, 2), bool))

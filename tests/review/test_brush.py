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


def _masks():
    """Shapes that exercise every record kind: single pixels, every run width, runs past 65,536 values."""
    rng = np.random.default_rng(7)
    yield np.zeros((1, 1), bool)
    yield np.ones((1, 1), bool)
    yield np.ones((360, 640), bool)  # one run of 921,600 values: 15 pieces of 65,536 and the rest
    yield np.zeros((270, 480), bool)
    for k in range(20):
        h, w = int(rng.integers(1, 120)), int(rng.integers(1, 200))
        yield rng.random((h, w)) < rng.choice([0.02, 0.3, 0.5, 0.97])  # short runs
        mask = np.zeros((h, w), bool)
        mask[rng.integers(0, h):rng.integers(0, h) + 40, rng.integers(0, w):] = True  # long runs
        yield mask if k % 2 else mask.T.copy()


def test_the_encoder_writes_what_the_sdk_writes_byte_for_byte():
    from label_studio_sdk.converter.brush import mask2rle  # the reference implementation

    for mask in _masks():
        ours = mask_to_brush(mask)
        assert ours == mask2rle(np.where(mask, 255, 0).astype(np.uint8)), mask.shape
        assert (decode_rle(bytes(ours)) == np.repeat(np.where(mask.ravel(), 255, 0), 4)).all()


def test_the_decoder_reads_what_the_sdk_reads():
    import json
    from pathlib import Path

    from pipeline.review.brush import _decode

    rng = np.random.default_rng(3)
    streams = [bytes(mask_to_brush(m)) for m in _masks()]
    for _ in range(10):  # arbitrary RGBA bytes: literal records and runs of any value
        values = rng.choice([0, 1, 127, 128, 254, 255], size=int(rng.integers(1, 3000)) * 4)
        values[: len(values) // 2] = rng.integers(0, 256)  # and a long run
        streams.append(bytes(encode_rle(values.astype(np.uint8))))
    stroke = json.loads((Path(__file__).parent / "data" / "ui_brush_stroke.json").read_text())
    found = [v for v in _walk(stroke) if isinstance(v, list) and len(v) > 7 and all(isinstance(x, int) for x in v)]
    streams += [bytes(v) for v in found]  # a stroke painted in the browser (anti-aliased edges)
    assert found
    for data in streams:
        assert (_decode(data) == decode_rle(data)).all()
    with pytest.raises(BrushError, match="does not decode"):
        brush_to_mask(list(streams[2][:-5]), 360, 640)  # cut inside a record


def _walk(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        yield value
        for v in value:
            yield from _walk(v)

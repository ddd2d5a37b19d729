"""The weight-free segmenter (OpenCV GrabCut seeded by the box) and the ``auto`` choice between it and SAM."""

import numpy as np
import pytest

from pipeline.proposals.grabcut import GrabCutSegmenter
from pipeline.proposals.segmenter import make_segmenter


def _scene(seed: int = 0):
    """A textured grey background with a red disc and a blue square: images and their exact masks."""
    rng = np.random.default_rng(seed)
    img = rng.integers(90, 150, (180, 320, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:180, :320]
    disc = (yy - 90) ** 2 + (xx - 90) ** 2 <= 40 ** 2
    square = (yy >= 60) & (yy < 120) & (xx >= 200) & (xx < 260)
    img[disc] = (30, 30, 200)  # BGR red
    img[square] = (200, 60, 40)
    return img, disc, square


def _iou(a, b) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_grabcut_finds_the_object_in_its_box_better_than_the_box():
    img, disc, square = _scene()
    boxes = [[44, 44, 136, 136], [194, 54, 266, 126]]  # a few pixels of slack around each object
    (masks,) = GrabCutSegmenter().segment([img], [boxes])
    for mask, truth, box in zip(masks, (disc, square), boxes, strict=True):
        as_box = np.zeros_like(truth)
        as_box[box[1]:box[3], box[0]:box[2]] = True
        assert mask.shape == truth.shape and mask.dtype == bool
        assert _iou(mask, truth) > 0.9 > _iou(as_box, truth)
        assert not mask[:, :box[0]].any() and not mask[:, box[2]:].any()  # nothing outside its box


def test_boxes_grabcut_cannot_use_get_no_mask():
    img, _, _ = _scene()
    seg = GrabCutSegmenter()
    assert seg.segment_box(img, [10, 10, 12, 60]) is None  # thinner than min_side
    assert seg.segment_box(img, [0, 0, 320, 180]) is None  # the whole frame: no background to learn from
    assert seg.segment_box(img, [400, 400, 500, 500]) is None  # outside the frame
    flat = np.full((90, 160, 3), 128, np.uint8)
    assert seg.segment_box(flat, [40, 20, 120, 70]) is None  # nothing to tell apart: empty, so a box in review


def test_auto_takes_sam_when_a_checkpoint_is_there_else_grabcut(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATAR_HOME", str(tmp_path))  # an empty model cache: no SAM checkpoint
    assert make_segmenter("auto", checkpoint="sam_vit_h", device="cpu", batch_size=4).name == "grabcut"
    assert make_segmenter("auto", random_variant="tiny", device="cpu").name == "sam"
    import torch

    from pipeline.proposals.segmenter import SAM_VARIANTS, build_sam

    path = tmp_path / "sam_tiny.pth"
    torch.save(build_sam(SAM_VARIANTS["tiny"]).state_dict(), path)
    seg = make_segmenter("auto", checkpoint=str(path), model_type="tiny", device="cpu")
    assert seg.name == "sam"  # the real SAM classes, a randomly initialised state dict loaded from the path
    img, _, _ = _scene()
    (masks,) = seg.segment([img], [[[44, 44, 136, 136]]])
    assert masks[0].shape == (180, 320)
    from pipeline.errors import PipelineError

    for name in ("sam", "auto"):  # a path the user named is never replaced by GrabCut
        with pytest.raises(PipelineError, match="missing_vit_b.pth: file not found"):
            make_segmenter(name, checkpoint=str(tmp_path / "missing_vit_b.pth"))

"""SAM through segment-anything: the real classes with a tiny random encoder, box prompts → masks, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.errors import PipelineError
from pipeline.proposals.segmenter import SAM_VARIANTS, NoneSegmenter, build_sam, load_sam, make_segmenter


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (120, 200, 3), dtype=np.uint8), rng.integers(0, 255, (90, 60, 3), dtype=np.uint8)]


def test_tiny_sam_turns_boxes_into_masks(images):
    seg = make_segmenter("sam", random_variant="tiny", device="cpu", batch_size=2)
    boxes = [[[10, 10, 100, 80], [0, 0, 200, 120], [150, 60, 190, 110]], []]
    masks = seg.segment(images, boxes)
    assert [len(m) for m in masks] == [3, 0]
    assert all(m.shape == (120, 200) and m.dtype == bool for m in masks[0])
    again = make_segmenter("sam", random_variant="tiny", device="cpu", batch_size=1).segment(images, boxes)
    assert all(np.array_equal(a, b) for a, b in zip(masks[0], again[0], strict=True))  # batching changes nothing


def test_none_segmenter():
    assert NoneSegmenter().segment([None, None], [[[0, 0, 1, 1]], []]) == [[None], []]


def test_checkpoints_load_strictly(tmp_path):
    torch.manual_seed(0)
    tiny = build_sam(SAM_VARIANTS["tiny"])
    good = tmp_path / "sam_tiny.pth"
    torch.save(tiny.state_dict(), good)
    loaded = load_sam(good, model_type="tiny")
    assert all(torch.equal(a, b) for a, b in zip(tiny.state_dict().values(), loaded.state_dict().values(),
                                                 strict=True))
    wrong = tmp_path / "sam_vit_b_01ec64.pth"  # the name says vit_b, the content is tiny
    torch.save(tiny.state_dict(), wrong)
    with pytest.raises(PipelineError, match="not a SAM vit_b state dict"):
        load_sam(wrong)
    truncated = tmp_path / "sam_vit_h_cut.pth"
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(PipelineError, match="truncated or corrupt"):
        load_sam(truncated)
    with pytest.raises(PipelineError, match="cannot tell vit_h/vit_l/vit_b"):
        load_sam(good)
    with pytest.raises(PipelineError, match="sam_vit_h_4b8939.pth not found"):
        load_sam("sam_vit_h")

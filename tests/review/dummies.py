"""Hand-made proposal records with real JPEG frames, for review tests that run before the upstream stages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from avatar_bench import rle
from avatar_bench.format import Category
from pipeline.layout import WorkDir
from pipeline.proposals.records import AudioTag, InstanceProposal, ProposalRecord

CATEGORIES = [Category(id=1, name="dog", supercategory="animal"), Category(id=2, name="car", supercategory="vehicle"),
              Category(id=3, name="drum", supercategory="instrument")]
H, W = 90, 160


def blob(seed: int, h: int = H, w: int = W) -> np.ndarray:
    """A seeded blob-like mask (ellipse + a notch), never empty, never the full frame."""
    rng = np.random.default_rng(seed)
    cy, cx = rng.integers(15, h - 15), rng.integers(20, w - 20)
    ry, rx = rng.integers(5, 14), rng.integers(6, 19)
    yy, xx = np.mgrid[:h, :w]
    mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    mask[cy:cy + 2, :] = False
    return mask


def proposal_row(work: Path, i: int, n_instances: int = 2, split: str | None = None,
                 categories: tuple[str, ...] | None = None, sounding: tuple[bool, ...] | None = None) -> ProposalRecord:
    """The proposal of frame ``i``: a JPEG on disk and ``n_instances`` masked instances (dog sounding, car silent,
    unless ``categories`` / ``sounding`` say otherwise per instance)."""
    vid = f"sy{i:09d}_000000"
    path = WorkDir(work).frame_image(vid, 12)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(i)
    Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(path, quality=80)
    instances = []
    for k in range(n_instances):
        mask = blob(1000 * i + k)
        category = categories[k] if categories else CATEGORIES[k % 2].name
        instances.append(InstanceProposal(instance_id=k + 1, category=category, detector_label=category,
                                          det_score=0.9 - 0.1 * k, bbox=rle.bbox(rle.encode(mask)),
                                          sounding=sounding[k] if sounding else k == 0,
                                          sounding_score=0.8 - 0.5 * k, rle=rle.encode(mask)))
    heard = sorted({inst.category for inst in instances if inst.sounding}) or ["dog"]
    return ProposalRecord(frame_id=f"{vid}/000012", video_id=vid, image_path=str(path), width=W, height=H,
                          frame_index=12, timestamp_s=0.48, label="dog barking",
                          split=split or ("train", "val", "test")[i % 3],
                          scenario="single" if n_instances else "off_screen", scenario_score=0.7,
                          flagged=i % 4 == 3, flag_reasons=["low_score"] if i % 4 == 3 else [],
                          audio_tags=[AudioTag(label="dog barking", score=0.9, category="dog")],
                          heard_categories=heard, instances=instances, model_version="test-v1")


def make_proposals(work: Path, n: int, start: int = 0, n_instances: int = 2) -> list[ProposalRecord]:
    """Add frames ``start .. start+n-1`` to the work folder's proposals (appended to what is there)."""
    records = [proposal_row(work, i, n_instances) for i in range(start, start + n)]
    with WorkDir(work).manifest("proposals") as m:
        m.extend(records)
    return records

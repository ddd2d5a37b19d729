"""Mask quality of the segmenter backends on AVATAR-Synth (exact ground-truth masks), with time per mask.

    python -m benchmarks.segmenters [--data DIR] [--preset tiny] [--max-masks 400] [--sam-checkpoint PATH]

Every visible instance of the synth annotation files is one case: the segmenter gets the frame and the
instance's ground-truth box (the box a perfect detector would give) and its mask is compared with the exact
mask. Rows: the box itself as the mask (the floor every backend must beat), GrabCut (``grabcut``, the
weight-free backend) in a few settings, and SAM when a checkpoint is given (none can be downloaded here: the
row then says why it is skipped). Columns: mean and median IoU, the share of masks with IoU >= 0.5 and >= 0.75,
milliseconds per mask, and the mean IoU as a ratio of the box-as-mask row measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from avatar_bench import rle
from avatar_bench.format import AvatarDataset
from pipeline.report.metrics import iou


def cases(data: Path, max_masks: int) -> list[tuple[Path, list[float], np.ndarray]]:
    """``(frame path, xyxy box, exact mask)`` of the visible instances, spread over the splits."""
    out = []
    for split in ("test", "val", "train"):
        path = data / "annotations" / f"{split}.json"
        if not path.exists():
            continue
        ds = AvatarDataset.load(path)
        frames = {im.id: data / "frames" / im.file_name for im in ds.images}
        for ann in ds.annotations:
            mask = rle.decode(ann.segmentation)
            if mask.sum() < 16:  # a sliver at the border: no box to speak of
                continue
            x, y, w, h = ann.bbox
            out.append((frames[ann.image_id], [x, y, x + w, y + h], mask))
    rng = np.random.default_rng(0)
    keep = sorted(rng.permutation(len(out))[:max_masks]) if len(out) > max_masks else range(len(out))
    return [out[i] for i in keep]


def box_mask(image: np.ndarray, box: list[float]) -> np.ndarray:
    mask = np.zeros(image.shape[:2], bool)
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    mask[max(0, y0):y1, max(0, x0):x1] = True
    return mask


def measure(name: str, fn, items, images) -> dict:
    ious, missing = [], 0
    t0 = time.perf_counter()
    for path, box, truth in items:
        mask = fn(images[path], box)
        missing += mask is None
        ious.append(iou(mask, truth) if mask is not None else 0.0)  # no mask scores 0
    seconds = time.perf_counter() - t0
    ious = np.asarray(ious)
    return {"backend": name, "masks": len(items), "none": missing, "mean": ious.mean(), "median": np.median(ious),
            "ge50": (ious >= 0.5).mean(), "ge75": (ious >= 0.75).mean(), "ms": 1000 * seconds / len(items)}


def sam_fn(checkpoint: str):
    from pipeline.proposals.segmenter import make_segmenter

    seg = make_segmenter("sam", checkpoint=checkpoint, device="auto")
    return lambda image, box: seg.segment([image], [[box]])[0][0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="AVATAR-Synth folder (made or finished there; default: a temp dir)")
    parser.add_argument("--preset", default="tiny", help="synth preset to generate when --data is not given")
    parser.add_argument("--max-masks", type=int, default=400)
    parser.add_argument("--sam-checkpoint", help="SAM checkpoint (path or registry name) for the SAM row")
    args = parser.parse_args()
    import cv2

    from avatar_bench.synth import generate
    from pipeline.proposals.grabcut import GrabCutSegmenter

    data = args.data or Path(tempfile.mkdtemp(prefix="segmenters_")) / "synth"
    generate(data, preset=args.preset, seed=0, progress=False)  # a finished folder is only checked
    items = cases(data, args.max_masks)
    images = {p: cv2.imread(str(p), cv2.IMREAD_COLOR) for p in {c[0] for c in items}}
    rows = [measure("box as mask", box_mask, items, images)]
    for label, opts in (("grabcut (default: 4 it, margin 0.25, 256 px)", {}),
                        ("grabcut 2 iterations", {"iterations": 2}),
                        ("grabcut 8 iterations", {"iterations": 8}),
                        ("grabcut full resolution (no downscale)", {"max_side": 100_000}),
                        ("grabcut without largest-component", {"largest_component": False})):
        rows.append(measure(label, GrabCutSegmenter(**opts).segment_box, items, images))
    skipped = None
    if args.sam_checkpoint:
        rows.append(measure(f"sam ({Path(args.sam_checkpoint).name})", sam_fn(args.sam_checkpoint), items, images))
    else:
        skipped = ("sam: skipped: no checkpoint given (--sam-checkpoint); SAM weights cannot be downloaded here, "
                   "the code path is tested with a randomly initialised real SAM (tests/proposals)")
    base = rows[0]["mean"]
    print(f"\nAVATAR-Synth ({data}): {len(items)} instance masks in {len(images)} frames, ground-truth boxes\n")
    print(f"| {'backend':<46} | masks | no mask | mean IoU | median | IoU>=.5 | IoU>=.75 | ms/mask | vs box |")
    print(f"|{'-' * 48}|-------|---------|----------|--------|---------|----------|---------|--------|")
    for r in rows:
        print(f"| {r['backend']:<46} | {r['masks']:>5} | {r['none']:>7} | {r['mean']:>8.3f} | {r['median']:>6.3f} | "
              f"{r['ge50']:>7.1%} | {r['ge75']:>8.1%} | {r['ms']:>7.1f} | {r['mean'] / base:>5.2f}x |")
    if skipped:
        print(f"\n{skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

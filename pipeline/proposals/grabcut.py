"""A weight-free segmenter: OpenCV GrabCut seeded by each detector box.

Used when no SAM checkpoint is present (``segmenter: auto``, the CPU demo), so every detection reaches the
annotator as an editable brush region instead of a bare box. Per box: a crop around it (``margin`` of the box
size on each side, so GrabCut has background to learn from), downscaled to at most ``max_side`` pixels, GrabCut
initialised with the box as "probably foreground" and the rest of the crop as background, ``iterations``
rounds; the foreground is kept inside the box, its largest connected component only, holes filled. A box that
GrabCut cannot work with (under ``min_side`` pixels, a crop with no background, or an empty result) gets no
mask (``None``): the review sends it as a rectangle region.

Measured against the exact masks of AVATAR-Synth in ``benchmarks/segmenters.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)


class GrabCutSegmenter:
    """Box-seeded GrabCut (no weights; CPU).

    Args:
        iterations: GrabCut rounds per box.
        margin: context around the box, as a fraction of its width/height (background samples).
        max_side: the crop is downscaled so its longer side is at most this many pixels (speed).
        min_side: boxes thinner than this (pixels) get no mask.
        largest_component: keep only the largest connected foreground component (and fill its holes).
        **_ignored: ``device``, ``checkpoint``, ``batch_size`` given to every segmenter are not used here.
    """

    name = "grabcut"

    def __init__(self, iterations: int = 4, margin: float = 0.25, max_side: int = 256, min_side: int = 4,
                 largest_component: bool = True, **_ignored):
        self.iterations, self.margin, self.max_side = int(iterations), float(margin), int(max_side)
        self.min_side, self.largest_component = int(min_side), bool(largest_component)

    def segment(self, images: Sequence[np.ndarray], boxes: Sequence[Sequence[Sequence[float]]]) \
            -> list[list[np.ndarray | None]]:
        return [[self.segment_box(img, box) for box in frame_boxes] for img, frame_boxes in zip(images, boxes,
                                                                                                 strict=True)]

    def segment_box(self, image: np.ndarray, box: Sequence[float]) -> np.ndarray | None:
        """The boolean mask (H, W) of the object in ``box`` (``[x0, y0, x1, y1]`` pixels), or ``None``."""
        import cv2

        h, w = image.shape[:2]
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < self.min_side or y1 - y0 < self.min_side:
            return None
        mx, my = int(round((x1 - x0) * self.margin)), int(round((y1 - y0) * self.margin))
        cx0, cy0, cx1, cy1 = max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)
        if (cx0, cy0, cx1, cy1) == (x0, y0, x1, y1):
            return None  # the box is the whole frame: nothing to learn the background from
        crop = np.ascontiguousarray(image[cy0:cy1, cx0:cx1, :3])
        scale = min(1.0, self.max_side / max(crop.shape[:2]))
        small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else crop
        rect = (int((x0 - cx0) * scale), int((y0 - cy0) * scale),
                max(1, int((x1 - x0) * scale)), max(1, int((y1 - y0) * scale)))
        mask = np.zeros(small.shape[:2], np.uint8)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(small, mask, rect, bgd, fgd, self.iterations, cv2.GC_INIT_WITH_RECT)
        except cv2.error as exc:  # e.g. a crop whose colours give GrabCut's models no sample
            log.debug("GrabCut failed on box %s: %s", box, exc)
            return None
        fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
        if scale < 1:
            fg = cv2.resize(fg, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_NEAREST)
        out = np.zeros((h, w), bool)
        inside = fg[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0].astype(bool)
        if self.largest_component:
            inside = _largest_component_filled(inside)
        out[y0:y1, x0:x1] = inside
        return out if out.any() else None


def _largest_component_filled(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of ``mask`` with its holes filled."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return mask
    keep = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    contours, _ = cv2.findContours(keep, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros_like(keep)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool)

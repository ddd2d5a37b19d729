"""BT.601 limited-range colour conversion between RGB and the planar YUV 4:2:0 frames that are encoded.

Frames are composed directly in YUV 4:2:0 (what x264 encodes), which avoids a full-frame colour conversion
per frame; the annotated frames are converted to RGB with PyAV's own conversion, the one decoders use.
"""

from __future__ import annotations

import numpy as np

_TO_YUV = np.array([
    [65.481, 128.553, 24.966],
    [-37.797, -74.203, 112.0],
    [112.0, -93.786, -18.214],
], dtype=np.float32) / 255.0
_OFFSET = np.array([16.0, 128.0, 128.0], dtype=np.float32)


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` RGB in [0, 255] to float YUV (BT.601, limited range)."""
    return rgb.astype(np.float32) @ _TO_YUV.T + _OFFSET


def to_planes(yuv: np.ndarray, alpha: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Split full-resolution float YUV ``(H, W, 3)`` (H, W even) into uint8 planes Y ``(H, W)``, U, V ``(H/2, W/2)``.

    Chroma is the mean of each 2x2 block, over the pixels of ``alpha`` when given (so sprite edges do not
    blend their colour with the zeros outside the sprite). Also returns the chroma alpha (True where at
    least two of the four pixels are inside) when ``alpha`` is given.
    """
    h, w = yuv.shape[:2]
    y = np.clip(np.rint(yuv[..., 0]), 0, 255).astype(np.uint8)
    blocks = yuv[..., 1:].reshape(h // 2, 2, w // 2, 2, 2)
    if alpha is None:
        uv = blocks.mean(axis=(1, 3))
        a_c = None
    else:
        wts = alpha.reshape(h // 2, 2, w // 2, 2, 1).astype(np.float32)
        count = wts.sum(axis=(1, 3))
        uv = (blocks * wts).sum(axis=(1, 3)) / np.maximum(count, 1.0)
        a_c = count[..., 0] >= 2
    uv = np.clip(np.rint(uv), 0, 255).astype(np.uint8)
    planes = (y, np.ascontiguousarray(uv[..., 0]), np.ascontiguousarray(uv[..., 1]))
    return planes if a_c is None else (*planes, a_c)


def frame_views(buf: np.ndarray, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views Y, U, V into one ``(H * 3 / 2, W)`` yuv420p buffer (the layout PyAV's ``from_ndarray`` takes)."""
    flat = buf.reshape(-1)
    y = flat[: h * w].reshape(h, w)
    u = flat[h * w: h * w + h * w // 4].reshape(h // 2, w // 2)
    v = flat[h * w + h * w // 4:].reshape(h // 2, w // 2)
    return y, u, v


def yuv420_to_rgb(buf: np.ndarray) -> np.ndarray:
    """Convert a yuv420p buffer to RGB with PyAV/libswscale, the same path a decoder's RGB output takes."""
    import av

    return av.VideoFrame.from_ndarray(buf, format="yuv420p").to_ndarray(format="rgb24")

"""Evaluation protocols (``avatar-eval --protocol NAME``): the grid a frame is scored on and the relative rule.

=============  =================================================  ==================================================
preset         ``lvs-native`` (default)                           ``peers-224``
=============  =================================================  ==================================================
grid           the GT's native size (e.g. 640x360)                224x224
heatmap        bilinear resize to the GT size                     bilinear resize to 224x224
GT             the exact masks (release polygons rasterised at    the native GT resized bilinearly to 224x224 and
               the original size)                                 kept where >= 0.5
relative mask  > the value at sorted position floor(H*W/2), plus  >= that value (EZ-VSL / SLAVC)
               the pixels equal to the max (LVS)
=============  =================================================  ==================================================

``lvs-native`` is LVS's own evaluation at the annotation's resolution; ``peers-224`` is what published AVATAR
numbers of other methods do (their GT polygons are rasterised at the original size, then GT and heatmap are
resized to the 224x224 model input). The absolute mask (``--binarize absolute``) is ``>= tau`` in both; the
per-frame score is the max of the resized heatmap in both. A GT that vanishes at 224 (an object thinner than
about 2 px of 640 on a side) leaves an on-screen frame with an empty GT: its IoU counts as 0 (a miss), and the
number of such frames is reported as ``n_gt_vanished``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from avatar_bench.metrics.functional import resize_bilinear

RELATIVE_RULES = ("lvs", "ge")


@dataclass(frozen=True)
class Protocol:
    """How one frame is brought to its scoring grid; see the module docstring for the presets."""

    name: str
    description: str
    size: tuple[int, int] | None = None  # (H, W) of the scoring grid; None: the GT's native size
    gt_threshold: float = 0.5  # a resized GT pixel is kept where the bilinear resize of the mask is >= this
    relative_rule: str = "lvs"  # "lvs": > median plus the max pixels; "ge": >= median

    def __post_init__(self):
        if self.relative_rule not in RELATIVE_RULES:
            raise ValueError(f"expected relative_rule in {RELATIVE_RULES}, got {self.relative_rule!r}")

    def prepare(self, heat: np.ndarray, gt: np.ndarray | None, height: int, width: int
                ) -> tuple[np.ndarray, np.ndarray | None]:
        """The resized heatmap and the GT mask (None off screen) on this protocol's grid.

        Args:
            heat: the submitted heatmap, any size.
            gt: the native (height, width) boolean GT mask, or None for an off-screen frame.
            height, width: the GT image size.
        """
        if self.size is None:
            return resize_bilinear(heat, height, width), gt
        h, w = self.size
        resized = resize_bilinear(heat, h, w)
        if gt is None:
            return resized, None
        return resized, resize_bilinear(gt.view(np.uint8), h, w) >= self.gt_threshold

    def result_settings(self) -> dict:
        """What ``results.json`` records of the protocol: itself, and the resize and relative rule where they
        differ from the scorer's native, LVS defaults."""
        d = asdict(self)
        d["size"] = list(self.size) if self.size else "native (the GT image size)"
        out = {"protocol": d}
        if self.size is not None:
            out["resize"] = (f"heatmap and GT mask to {self.size[0]}x{self.size[1]}, bilinear (cv2.INTER_LINEAR, "
                             f"float32); GT kept where >= {self.gt_threshold}")
        if self.relative_rule == "ge":
            out["relative_threshold"] = "pixels >= value at sorted position floor(H*W/2) of the resized map (EZ-VSL)"
        return out


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    Protocol("lvs-native", "LVS exactly, at the GT's native resolution: heatmap resized to the GT size, "
             "relative mask = pixels > the median plus those equal to the max"),
    Protocol("peers-224", "as published AVATAR peers: GT polygons rasterised at the original size, GT and "
             "heatmap resized to 224x224 (bilinear), GT kept where >= 0.5, relative mask = pixels >= the median",
             size=(224, 224), relative_rule="ge"),
)}
DEFAULT_PROTOCOL = "lvs-native"


def get_protocol(protocol: str | Protocol | None) -> Protocol:
    """A preset by name (None: the default), or a :class:`Protocol` as it is; unknown names raise ValueError."""
    if isinstance(protocol, Protocol):
        return protocol
    name = protocol or DEFAULT_PROTOCOL
    if name not in PROTOCOLS:
        raise ValueError(f"expected a protocol among {sorted(PROTOCOLS)}, got {name!r}")
    return PROTOCOLS[name]

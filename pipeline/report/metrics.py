"""Proposal quality, the pipeline's north-star numbers: how much of a proposal the annotator kept.

Pure functions over plain values (no tables, no files), checked against hand-computed cases and a slow obvious
reference in ``tests/pipeline/test_report_metrics.py``.

Per frame (:func:`compare_frame`), a proposal's instances are matched to the verified ones:

1. by identity: a verified instance that keeps the id of the proposal region it was edited from;
2. then greedily by mask IoU, highest first, among pairs with IoU >= ``MATCH_IOU`` (0.5): the region was
   redrawn (a box painted as a brush mask, a mask deleted and painted again).

A proposal without a mask is compared as its box (what the annotator started from). Unmatched proposals were
*removed* by the annotator, unmatched verified instances *added*. A frame is *accepted unchanged* when every
proposed instance was kept with the same mask (IoU exactly 1), category and sounding flag, none was added or
removed, and the scenario and the heard categories are the proposal's.

Per group (:func:`summarize`; zero-division policy: a share over nothing is ``None``, shown as "–"):

    frames            frames reviewed (kept + rejected by the annotator)
    rejected          frames the annotator rejected (no instance comparison)
    unchanged         share of the kept frames accepted unchanged
    mask_iou          mean (and median) IoU over matched instance pairs
    scenario          share of the kept frames whose verified scenario is the proposed one
    sounding          share of matched pairs whose sounding flag the annotator kept
    added / removed   instances added / removed by annotators (totals)
    seconds           mean (and median) of Label Studio's ``lead_time`` per reviewed frame that has one
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

MATCH_IOU = 0.5


@dataclass(frozen=True)
class Inst:
    """One instance of a frame: its mask (bool ``H x W``), category, sounding flag and proposal id."""

    mask: np.ndarray
    category: str
    sounding: bool
    ident: int | None = None  # proposal: its instance id; verified: the id of the proposal it was edited from
    from_box: bool = False  # a proposal without a mask, compared as its box


@dataclass(frozen=True)
class Side:
    """What one side (the proposal, or the verified annotation) says about a frame."""

    instances: Sequence[Inst]
    scenario: str | None
    heard: frozenset[str]


@dataclass
class FrameOutcome:
    """The comparison of one reviewed frame (``rejected``: by the annotator; no instance numbers then)."""

    group: tuple[str, str]  # (batch, backend)
    rejected: bool = False
    lead_time_s: float | None = None
    ious: list[float] = field(default_factory=list)
    sounding_kept: int = 0
    added: int = 0
    removed: int = 0
    box_only: int = 0
    scenario_agrees: bool = False
    unchanged: bool = False


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """|a ∩ b| / |a ∪ b| of two boolean masks; 1.0 when both are empty."""
    union = int(np.logical_or(a, b).sum())
    return int(np.logical_and(a, b).sum()) / union if union else 1.0


def match(proposed: Sequence[Inst], verified: Sequence[Inst], min_iou: float = MATCH_IOU) \
        -> list[tuple[int, int, float]]:
    """``(proposal index, verified index, IoU)`` pairs: by identity first, then greedily by IoU >= ``min_iou``."""
    pairs, used_p, used_v = [], set(), set()
    by_id = {p.ident: i for i, p in enumerate(proposed) if p.ident is not None}
    for j, v in enumerate(verified):
        i = by_id.get(v.ident) if v.ident is not None else None
        if i is not None and i not in used_p:
            pairs.append((i, j, iou(proposed[i].mask, v.mask)))
            used_p.add(i)
            used_v.add(j)
    candidates = sorted(((iou(p.mask, v.mask), i, j) for i, p in enumerate(proposed) if i not in used_p
                         for j, v in enumerate(verified) if j not in used_v), key=lambda c: (-c[0], c[1], c[2]))
    for value, i, j in candidates:
        if value < min_iou:
            break
        if i not in used_p and j not in used_v:
            pairs.append((i, j, value))
            used_p.add(i)
            used_v.add(j)
    return sorted(pairs)


def compare_frame(group: tuple[str, str], proposal: Side, verified: Side, lead_time_s: float | None = None,
                  min_iou: float = MATCH_IOU) -> FrameOutcome:
    """How much of one frame's proposal the annotator kept (see the module docstring)."""
    pairs = match(proposal.instances, verified.instances, min_iou)
    out = FrameOutcome(group=group, lead_time_s=lead_time_s, ious=[v for _, _, v in pairs],
                       added=len(verified.instances) - len(pairs), removed=len(proposal.instances) - len(pairs),
                       box_only=sum(p.from_box for p in proposal.instances),
                       scenario_agrees=proposal.scenario == verified.scenario)
    same = [proposal.instances[i].category == verified.instances[j].category and value == 1.0
            for i, j, value in pairs]
    kept_sounding = [proposal.instances[i].sounding == verified.instances[j].sounding for i, j, _ in pairs]
    out.sounding_kept = sum(kept_sounding)
    out.unchanged = (all(same) and all(kept_sounding) and out.added == 0 and out.removed == 0
                     and out.scenario_agrees and proposal.heard == verified.heard)
    return out


@dataclass
class Summary:
    """The numbers of one group of frames (see the module docstring); shares in [0, 1] or ``None``."""

    frames: int = 0
    kept: int = 0
    rejected: int = 0
    unchanged: float | None = None
    mask_iou: float | None = None
    mask_iou_median: float | None = None
    pairs: int = 0
    box_only: int = 0
    scenario: float | None = None
    sounding: float | None = None
    added: int = 0
    removed: int = 0
    seconds: float | None = None
    seconds_median: float | None = None
    timed: int = 0


def _share(n: int, total: int) -> float | None:
    return n / total if total else None


def summarize(outcomes: Iterable[FrameOutcome]) -> Summary:
    """The group's numbers from its frames' outcomes."""
    outcomes = list(outcomes)
    kept = [o for o in outcomes if not o.rejected]
    ious = [v for o in kept for v in o.ious]
    times = [o.lead_time_s for o in outcomes if o.lead_time_s is not None]
    return Summary(
        frames=len(outcomes), kept=len(kept), rejected=len(outcomes) - len(kept),
        unchanged=_share(sum(o.unchanged for o in kept), len(kept)),
        mask_iou=statistics.fmean(ious) if ious else None, mask_iou_median=statistics.median(ious) if ious else None,
        pairs=len(ious), box_only=sum(o.box_only for o in kept),
        scenario=_share(sum(o.scenario_agrees for o in kept), len(kept)),
        sounding=_share(sum(o.sounding_kept for o in kept), len(ious)),
        added=sum(o.added for o in kept), removed=sum(o.removed for o in kept),
        seconds=statistics.fmean(times) if times else None, seconds_median=statistics.median(times) if times else None,
        timed=len(times))


def box_mask(bbox: Sequence[float], height: int, width: int) -> np.ndarray:
    """The COCO ``[x, y, w, h]`` box as a boolean mask (pixels whose centre lies inside, clipped to the frame)."""
    x, y, w, h = (float(v) for v in bbox)
    mask = np.zeros((height, width), bool)
    x0, y0 = max(0, int(np.ceil(x - 0.5))), max(0, int(np.ceil(y - 0.5)))
    x1, y1 = min(width, int(np.ceil(x + w - 0.5))), min(height, int(np.ceil(y + h - 0.5)))
    if x1 > x0 and y1 > y0:
        mask[y0:y1, x0:x1] = True
    return mask

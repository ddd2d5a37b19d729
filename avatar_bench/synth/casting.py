"""Casting: which categories appear in a video, in which role, and in which audible stretches.

Roles: ``sound`` (a visible instance heard in its stretches), ``twin`` (a silent look-alike of a sounding
instance: same category, same look, pulsing on its own rhythm), ``distractor`` (a silent instance of
another category, possibly entering and leaving the frame) and ``offscreen`` (heard, never seen).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avatar_bench.synth.categories import CATEGORIES

# Cross-event videos: the scenario of the first and of the second audible stretch (categories differ).
CROSS_COMBOS = (("single", "single"), ("single", "off_screen"), ("off_screen", "single"),
                ("multi_entity", "single"), ("single", "multi_entity"), ("mixed", "single"),
                ("single", "mixed"), ("off_screen", "multi_entity"))
EXTRA_DISTRACTORS = {"single": (0, 2), "mixed": (0, 1), "multi_entity": (0, 1), "off_screen": (1, 3),
                     "cross_event": (0, 1)}


@dataclass(slots=True)
class Member:
    category: str
    role: str  # sound | twin | distractor | offscreen
    look: int  # members with the same (category, look) are drawn identically
    intervals: list[list[float]] = field(default_factory=list)  # planned audible stretches (sound, offscreen)


@dataclass(slots=True)
class Cast:
    members: list[Member]
    segments: list[dict[str, Any]]  # planned: {"scenario", "start_s", "end_s", "categories", "track_ids"}


def _segment(rng: np.random.Generator, scenario: str, pool: list[str], intervals: list[list[float]],
             look: int) -> list[Member]:
    """Members that make ``scenario`` happen during ``intervals``; takes its categories from ``pool``."""
    if scenario == "single":
        return [Member(pool.pop(), "sound", look, intervals)]
    if scenario == "mixed":
        n = 3 if (len(pool) >= 4 and rng.random() < 0.25) else 2
        return [Member(pool.pop(), "sound", look, intervals) for _ in range(n)]
    if scenario == "multi_entity":
        cat = pool.pop()
        k = int(rng.integers(2, 4))
        loud = int(rng.integers(k))
        return [Member(cat, "sound" if j == loud else "twin", look, intervals if j == loud else [])
                for j in range(k)]
    if scenario == "off_screen":
        return [Member(pool.pop(), "offscreen", look, intervals)]
    raise ValueError(f"unknown scenario {scenario!r}")


def cast_video(rng: np.random.Generator, kind: str, duration: float,
               plan_intervals: Callable[[np.random.Generator, float, int], list[list[float]]]) -> Cast:
    """Cast one video of ``kind`` (a scenario, or ``cross_event``)."""
    pool = [CATEGORIES[int(i)].name for i in rng.permutation(len(CATEGORIES))]
    members: list[Member] = []
    planned: list[tuple[str, list[Member], list[float]]] = []
    if kind == "cross_event":
        first, second = CROSS_COMBOS[int(rng.integers(len(CROSS_COMBOS)))]
        iv = plan_intervals(rng, duration, 2)
        for scenario, interval in ((first, iv[0]), (second, iv[1])):
            seg = _segment(rng, scenario, pool, [interval], look=len(planned))
            planned.append((scenario, seg, interval))
            members += seg
    else:
        n = int(rng.choice([1, 2, 3], p=[0.25, 0.45, 0.3]))
        iv = plan_intervals(rng, duration, n)
        seg = _segment(rng, kind, pool, iv, look=0)
        members += seg
        planned += [(kind, seg, interval) for interval in iv]
    lo, hi = EXTRA_DISTRACTORS[kind]
    n_extra = min(int(rng.integers(lo, hi + 1)), len(pool))
    while n_extra > 0 and pool:
        cat = pool.pop()
        pair = n_extra >= 2 and rng.random() < 0.4  # silent look-alikes of a silent category
        members += [Member(cat, "distractor", 9) for _ in range(2 if pair else 1)]
        n_extra -= 2 if pair else 1
    track_of = {id(m): k + 1 for k, m in enumerate(members)}  # by identity: look-alikes compare equal
    segments = [{"scenario": scenario, "start_s": interval[0], "end_s": interval[1],
                 "categories": sorted({m.category for m in seg if m.role in ("sound", "offscreen")}),
                 "track_ids": [track_of[id(m)] for m in seg]}
                for scenario, seg, interval in planned]
    return Cast(members=[Member(m.category, m.role, m.look, list(m.intervals)) for m in members],
                segments=segments)

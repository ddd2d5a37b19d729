"""The scenario rule of AVATAR (DESIGN §3): the one place that decides a frame's scenario.

It works on plain ``(category, sounding)`` pairs, one per visible instance, and the categories heard at
the frame's timestamp, so every package can call it without importing anything of the others: synth
annotation, proposals, review conversion and dataset validation all use these two functions.

The rule, in order:

1. no sounding instance while a category is heard → ``off_screen`` (nothing heard either → no scenario);
2. two or more sounding instances, of any categories → ``mixed`` (the paper's Mixed-sound: "multiple
   simultaneous sound sources"; two sounding instances of one category are two sources);
3. exactly one, with another visible instance of its category → ``multi_entity``;
4. exactly one otherwise → ``single``.

Where a file does not record silent instances (the imported release annotates sounding objects only), the
look-alike count of rule 3 cannot be checked: ``single`` and ``multi_entity`` are then told apart by the
file's own tag, and :func:`scenario_violations` accepts either for one sounding instance.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

SCENARIOS = ("single", "mixed", "multi_entity", "off_screen")
ON_SCREEN = ("single", "mixed", "multi_entity")

Instance = tuple[Hashable, bool]  # (category, sounding)


def scenario_of(instances: Iterable[Instance], heard: Iterable[Hashable] = ()) -> str | None:
    """The scenario of a frame from its visible instances and the heard categories (None: no scenario fits).

    Args:
        instances: one ``(category, sounding)`` pair per visible instance, silent ones included.
        heard: the categories heard at the frame's timestamp (visible or not).
    """
    instances = list(instances)
    sounding = [cat for cat, is_sounding in instances if is_sounding]
    if not sounding:
        return "off_screen" if any(True for _ in heard) else None
    if len(sounding) >= 2:
        return "mixed"
    twins = sum(1 for cat, _ in instances if cat == sounding[0])
    return "multi_entity" if twins >= 2 else "single"


def scenario_violations(scenario: str, instances: Iterable[Instance], heard: Iterable[Hashable] = (),
                        silent_annotated: bool = True) -> list[str]:
    """Why a frame tagged ``scenario`` breaks the rule (an empty list when it fits).

    Args:
        scenario: the frame's tag.
        instances: ``(category, sounding)`` per annotated instance.
        heard: the frame's heard categories (``sounding_category_ids``).
        silent_annotated: False for files that annotate sounding instances only: the look-alike count is
            then not asked of ``single``/``multi_entity``.

    Returns:
        Messages that say what the rule expects and what the frame has, without naming the frame.
    """
    if scenario not in SCENARIOS:
        return [f"expected scenario in {SCENARIOS}, got {scenario!r}"]
    instances, heard = list(instances), set(heard)
    sounding = [cat for cat, is_sounding in instances if is_sounding]
    out = []
    if scenario == "off_screen":
        if sounding:
            out.append(f"off-screen frames must have no sounding instance, found {len(sounding)}")
        if not heard:
            out.append("off-screen frames must list the heard category in sounding_category_ids")
        return out
    if not sounding:
        return [f"{scenario} frames need at least one sounding instance, found none"]
    unlisted = sorted({repr(c) for c in sounding if c not in heard})
    if unlisted:
        out.append(f"sounding instance categories {', '.join(unlisted)} are missing from sounding_category_ids")
    if scenario == "mixed" and len(sounding) < 2:
        out.append(f"mixed frames need two or more sounding instances, found {len(sounding)}")
    elif scenario in ("single", "multi_entity") and len(sounding) != 1:
        out.append(f"{scenario} frames need exactly one sounding instance, found {len(sounding)} (that is mixed)")
    elif silent_annotated:
        expected = scenario_of(instances, heard)
        if expected != scenario:
            twins = sum(1 for cat, _ in instances if cat == sounding[0])
            out.append(f"{scenario} does not fit {twins} visible instance(s) of the sounding category "
                       f"(the rule gives {expected}: multi_entity needs >= 2 look-alikes, single exactly 1)")
    return out

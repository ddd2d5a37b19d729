"""The release's ``task`` strings and the AVATAR-COCO scenarios they stand for.

Only ``"Off-Screen"`` is confirmed as a task string of the release; the others presumably follow the paper's
names (Single-sound, Mixed-sound, Multi-entity). Strings are matched after :func:`normalize` (case, spaces,
hyphens and underscores ignored), so ``"Multi-Entity"``, ``"multi_entity"`` and ``"MULTI ENTITY"`` are one
task. Any other string is refused by the importer, which lists the unknown strings with their counts; a
user who knows what a string means maps it with ``--task-map 'STRING=SCENARIO'``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from avatar_bench.errors import ReleaseError
from avatar_bench.rules import SCENARIOS

# normalised task string -> scenario: the paper's names and the toolkit's own scenario names
KNOWN_TASKS: dict[str, str] = {
    "singlesound": "single", "single": "single",
    "mixedsound": "mixed", "mixed": "mixed",
    "multientity": "multi_entity",
    "offscreen": "off_screen",
}
RELEASE_NAMES = {"single": "Single-sound", "mixed": "Mixed-sound", "multi_entity": "Multi-entity",
                 "off_screen": "Off-Screen"}  # the spelling the fixture maker writes
_SEPARATORS = re.compile(r"[\s_-]+")


def normalize(task: str) -> str:
    """The matching form of a task string: case-folded, without spaces, hyphens or underscores."""
    return _SEPARATORS.sub("", task).casefold()


def parse_task_map(entries: Iterable[str]) -> dict[str, str]:
    """``["Some-string=mixed", ...]`` -> ``{normalised string: scenario}``.

    The scenario may be spelled like a task (``multi-entity``, ``Off-Screen``). Raises :class:`ReleaseError`
    listing every entry that is not ``STRING=SCENARIO``.
    """
    out, problems = {}, []
    for entry in entries:
        text, sep, target = entry.rpartition("=")
        scenario = KNOWN_TASKS.get(normalize(target)) if sep else None
        if not sep or not text.strip():
            problems.append(f"--task-map {entry!r}: expected 'TASK STRING=SCENARIO'")
        elif scenario is None:
            problems.append(f"--task-map {entry!r}: expected a scenario among {', '.join(SCENARIOS)}, "
                            f"got {target.strip()!r}")
        else:
            out[normalize(text)] = scenario
    if problems:
        raise ReleaseError("bad --task-map", problems)
    return out


class TaskTable:
    """Resolves task strings to scenarios: the user's map first, then :data:`KNOWN_TASKS`."""

    def __init__(self, task_map: Mapping[str, str] | None = None):
        self.mapped = dict(task_map or {})
        self.table = {**KNOWN_TASKS, **self.mapped}
        self._cache: dict[str, str | None] = {}

    def scenario(self, task: str) -> str | None:
        """The scenario of a task string, or None when it is unknown."""
        try:
            return self._cache[task]
        except KeyError:
            found = self._cache[task] = self.table.get(normalize(task))
            return found

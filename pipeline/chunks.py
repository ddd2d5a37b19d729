"""A stage's remaining work cut into chunks, for per-chunk tasks on several processes or machines.

A stage that runs chunk by chunk (``prepare``, ``propose``) is driven in three steps:

1. **plan**, by the one process that holds the work folder's lock: what is left to do, read from the stage's
   own manifests (finished records are never planned again), cut into :class:`Chunk` s;
2. **chunk**, in any process that sees the work folder (a thread, a Dask worker on another machine): the
   chunk's records are processed and written as part files of the stage tables, each atomically
   (:meth:`pipeline.manifest.Manifest.flush`); nothing else is written to the tables;
3. **finish**, by the planner again: the parts are merged into each table (an atomic replace) and the
   summary is written.

A chunk that dies half-way leaves at most some of its part files, each whole: the next plan sees those
records as done (or half-done, and resumes them) and plans only the rest. A chunk that runs twice (a worker
thought dead that was only slow) writes the same rows again, which the merge keeps once (last row per key).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pipeline.errors import PipelineError
from pipeline.layout import WorkDir

T = TypeVar("T")


@dataclass(slots=True)
class Chunk(Generic[T]):
    """Records for one chunk task; ``index`` counts from 1 among the ``of`` chunks of one plan.

    ``context`` holds what the chunk needs besides its records (prepare: the probe and activity rows of
    videos a killed run left half-done), keyed by record id.
    """

    index: int
    of: int
    items: list[T]
    context: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def name(self) -> str:
        return f"{self.index}/{self.of}"


def split(items: Sequence[T], size: int, group: Callable[[T], Hashable] | None = None) -> list[list[T]]:
    """Cut ``items`` (in order) into lists of at most ``size``; items of one ``group`` stay in one list (a list
    grows past ``size`` only when one group alone is larger).

    Raises:
        PipelineError: ``size`` is not a positive integer.
    """
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise PipelineError(f"chunk size: expected a positive integer, got {size!r}")
    out: list[list[T]] = []
    current: list[T] = []
    for i, item in enumerate(items):
        starts_group = group is None or i == 0 or group(items[i - 1]) != group(item)
        if current and starts_group and len(current) + _group_len(items, i, group) > size:
            out.append(current)
            current = []
        current.append(item)
    if current:
        out.append(current)
    return out


def _group_len(items: Sequence[T], start: int, group: Callable[[T], Hashable] | None) -> int:
    if group is None:
        return 1
    key, n = group(items[start]), 1
    while start + n < len(items) and group(items[start + n]) == key:
        n += 1
    return n


def make_chunks(items: Sequence[T], size: int, group: Callable[[T], Hashable] | None = None) -> list[Chunk[T]]:
    """:func:`split` as numbered :class:`Chunk` s."""
    parts = split(items, size, group)
    return [Chunk(index=i + 1, of=len(parts), items=part) for i, part in enumerate(parts)]


def require_visible(work: WorkDir, where: str) -> None:
    """A chunk runs only where the planner's work folder is visible (else it would write a folder of its own).

    Raises:
        PipelineError: the folder's manifests are not found on this machine.
    """
    if not work.manifests.is_dir():
        raise PipelineError(f"{where}: work folder {work.root} not found on this machine; the work folder (and the "
                            "source videos) must be on a filesystem every worker sees, under the same path")

"""Record filters in the style of datatrove: a filter only says keep or drop (with a reason).

A subclass implements ``filter(record) -> bool | (bool, reason)``. The base normalises the answer, counts
kept records and drops per reason in one :class:`~pipeline.stats.StageStats` for the filter's whole life (make
one per run, not per record), marks dropped records (``record.reject(reason, detail)``) and hands them to an
optional writer (e.g. ``Manifest.append``), so every drop is recorded with its reason::

    probe_filter = ProbeFilter(ProbeConfig(min_short_side=360))
    kept = list(probe_filter.run(probe_records, dropped=manifest.append))
    probe_filter.dropped  # Counter({"too_small": 3, "no_audio": 1})

Filters that run in worker processes count there; the parent adds their stats up with
``probe_filter.stats.merge(worker_stats)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pipeline.stats import StageStats

FilterResult = bool | tuple[bool, str]


class BaseFilter(ABC):
    """Keep/drop records; count drops per reason; write dropped records with their reason."""

    name: str = "filter"
    default_reason: str = "filtered"

    def __init__(self) -> None:
        self.stats = StageStats(stage=self.name, unit="video", headline="{kept} kept")

    @property
    def kept(self) -> int:
        return self.stats.kept

    @property
    def dropped(self) -> Counter[str]:
        return self.stats.rejected

    @abstractmethod
    def filter(self, record: Any) -> FilterResult:
        """Return True to keep ``record``; False or ``(False, reason)`` to drop it."""

    def explain(self, record: Any, reason: str) -> str:
        """A sentence saying what was expected and what arrived (subclasses override)."""
        return f"{getattr(record, 'video_id', record)}: dropped by {self.name} ({reason})"

    def apply(self, record: Any) -> tuple[bool, str]:
        """Run :meth:`filter`, count the outcome and mark a dropped record; return ``(keep, reason)``."""
        result = self.filter(record)
        keep, reason = (result, "") if isinstance(result, bool) else (bool(result[0]), str(result[1] or ""))
        self.stats.processed += 1
        if keep:
            self.stats.keep()
            return True, ""
        reason = reason or self.default_reason
        self.stats.reject(reason)
        if hasattr(record, "reject"):
            record.reject(reason, self.explain(record, reason))
        return False, reason

    def run(self, records: Iterable[Any], dropped: Callable[[Any], None] | None = None) -> Iterator[Any]:
        """Yield the kept records; pass each dropped one (already marked) to ``dropped``."""
        for record in records:
            keep, _ = self.apply(record)
            if keep:
                yield record
            elif dropped is not None:
                dropped(record)

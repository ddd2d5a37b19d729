"""One statistics type for every stage: what it kept, what it rejected and why, what it did this run.

Every stage returns a :class:`StageStats` (``prepare``, ``propose``, review ``push`` and ``pull``, ``export``),
the CLIs print it (``--json``: :meth:`StageStats.to_dict`), and the flows render it as their markdown artifact
(:meth:`StageStats.markdown_row`), so no caller decodes a stage-specific summary by hand. Filters keep one for
the whole run (:class:`pipeline.filters.BaseFilter`), and the stats of workers are added up with
:meth:`StageStats.merge` (or ``+``).

Fields, the same for every stage:

    kept / rejected  the stage's records after this run: kept, and rejected per reason code
    processed        records this run worked on
    skipped          records already done by an earlier run (not redone)
    counts           named counts of the stage (``frames``, ``videos``, ``merged``, ...), added up on merge
    breakdown        named distributions (``scenario`` -> {``single``: 3, ...}), added up on merge
    seconds          time spent (added up on merge)
    info             facts that do not add up (project id, files written, problems); lists are joined on merge
    parts            the stats of sub-stages (prepare: ``videos``, ``probe``, ``activity``, ``selection``,
                     ``frames``; the probe filter of this run: ``filter``)

``headline`` is a ``str.format`` template over ``kept``, ``processed``, ``skipped``, ``unit`` and the counts,
e.g. ``"{kept} videos, {frames} frames"``: the "kept" cell of a report row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class StageStats:
    """Counts of one stage (see the module docstring)."""

    stage: str
    unit: str = "record"
    kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    processed: int = 0
    skipped: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    breakdown: dict[str, Counter[str]] = field(default_factory=dict)
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    parts: dict[str, StageStats] = field(default_factory=dict)
    headline: str = "{kept} {unit}s"

    # ------------------------------------------------------------------ counting
    def keep(self, n: int = 1) -> None:
        self.kept += n

    def reject(self, reason: str, n: int = 1) -> None:
        self.rejected[reason] += n

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def tally(self, group: str, value: str, n: int = 1) -> None:
        """Add one to the ``value`` bin of the ``group`` distribution (e.g. ``tally("scenario", "single")``)."""
        self.breakdown.setdefault(group, Counter())[value] += n

    @property
    def n_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def total(self) -> int:
        return self.kept + self.n_rejected

    # ------------------------------------------------------------------ merging
    def merge(self, other: StageStats) -> StageStats:
        """Add ``other``'s counts into this one (in place) and return it."""
        self.kept += other.kept
        self.rejected.update(other.rejected)
        self.processed += other.processed
        self.skipped += other.skipped
        self.counts.update(other.counts)
        for group, values in other.breakdown.items():
            self.breakdown.setdefault(group, Counter()).update(values)
        self.seconds += other.seconds
        for key, value in other.info.items():
            mine = self.info.get(key)
            self.info[key] = mine + value if isinstance(mine, list) and isinstance(value, list) else value
        for name, part in other.parts.items():
            if name in self.parts:
                self.parts[name].merge(part)
            else:
                self.parts[name] = StageStats.from_dict(part.to_dict())
        return self

    def __add__(self, other: StageStats) -> StageStats:
        return StageStats.from_dict(self.to_dict()).merge(other)

    # ------------------------------------------------------------------ (de)serialising
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (reasons and distributions keep their insertion order)."""
        return {"stage": self.stage, "unit": self.unit, "kept": self.kept, "rejected": dict(self.rejected),
                "processed": self.processed, "skipped": self.skipped, "counts": dict(self.counts),
                "breakdown": {k: dict(v) for k, v in self.breakdown.items()}, "seconds": round(self.seconds, 3),
                "info": dict(self.info), "parts": {k: v.to_dict() for k, v in self.parts.items()},
                "headline": self.headline}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StageStats:
        return cls(stage=d["stage"], unit=d.get("unit", "record"), kept=int(d.get("kept", 0)),
                   rejected=Counter(d.get("rejected") or {}), processed=int(d.get("processed", 0)),
                   skipped=int(d.get("skipped", 0)), counts=Counter(d.get("counts") or {}),
                   breakdown={k: Counter(v) for k, v in (d.get("breakdown") or {}).items()},
                   seconds=float(d.get("seconds", 0.0)), info=dict(d.get("info") or {}),
                   parts={k: cls.from_dict(v) for k, v in (d.get("parts") or {}).items()},
                   headline=d.get("headline", "{kept} {unit}s"))

    # ------------------------------------------------------------------ rendering
    def headline_text(self) -> str:
        """The ``headline`` template filled in (``"8 videos, 40 frames"``)."""
        values = {**self.counts, "kept": self.kept, "processed": self.processed, "skipped": self.skipped,
                  "unit": self.unit, "rejected": self.n_rejected}
        try:
            return self.headline.format(**values)
        except (KeyError, IndexError, ValueError):  # a count the template names was never counted
            return self.headline.format_map(_Zero(values))

    def reasons_text(self) -> str:
        return ", ".join(f"{reason}: {n}" for reason, n in self.rejected.items())

    def markdown_row(self, name: str | None = None) -> str:
        """``| stage | kept | rejected | reasons |``: one row of a run report."""
        return f"| {name or self.stage} | {self.headline_text()} | {self.n_rejected} | {self.reasons_text()} |"

    def to_markdown(self, title: str | None = None) -> str:
        """A small report: this stage and its parts as rows, then its distributions."""
        lines = [f"## {title}", ""] if title else []
        lines += ["| stage | kept | rejected | reasons |", "|---|---|---|---|", self.markdown_row()]
        lines += [part.markdown_row(f"{self.stage} / {name}") for name, part in self.parts.items()]
        for group, values in self.breakdown.items():
            lines += ["", f"| {group} | {self.unit}s |", "|---|---|"]
            lines += [f"| {value} | {n} |" for value, n in values.items()]
        return "\n".join(lines) + "\n"

    def text(self) -> str:
        """Plain-text lines for a terminal: the headline, the processed/skipped counts, reasons, parts."""
        lines = [f"{self.stage}: {self.headline_text()}; {self.processed} {self.unit}(s) processed this run, "
                 f"{self.skipped} already done, {self.n_rejected} rejected ({self.seconds:.1f} s)"]
        if self.parts:
            lines += ["", f"{'stage':<12} {'ok':>7} {'rejected':>9}"]
            lines += [f"{name:<12} {p.kept:>7} {p.n_rejected:>9}" for name, p in self.parts.items()]
        if self.rejected:
            lines += ["", f"{'reason':<24} {self.unit + 's':>8}"]
            lines += [f"{reason:<24} {n:>8}" for reason, n in self.rejected.most_common()]
        for group, values in self.breakdown.items():
            lines += ["", f"{group}: " + ", ".join(f"{k} {v}" for k, v in values.items())]
        return "\n".join(lines)


class _Zero(dict):
    """Template values where a missing count reads as 0."""

    def __missing__(self, key: str) -> int:
        return 0

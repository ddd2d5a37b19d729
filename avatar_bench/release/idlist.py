"""The release's training list, ``vggsound_10k.txt`` ("10,000 training video IDs from VGGSound").

Its line format is unknown, so three are accepted, and the reader says which one it found:

==============  ===============================  =========================================
format          a line                           selects
==============  ===============================  =========================================
``ytid``        ``---g-f_I2yQ``                  every clip of that YouTube video
``ytid_start``  ``---g-f_I2yQ_000001``           the clip starting at that second (any padding)
``csv``         ``---g-f_I2yQ,1[,label,split]``  the clip starting at that second
==============  ===============================  =========================================

CSV lines are VGGSound rows and go through :mod:`avatar_bench.vggsound` (quotes, BOM, bad starts). Blank and
``#`` lines are skipped; a bad line is a :class:`~avatar_bench.vggsound.RowProblem` (line number, reason, what
was wrong) and never stops the reading.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from avatar_bench.naming import YOUTUBE_ID, split_clip_name
from avatar_bench.vggsound import MAX_LINE_CHARS, RowProblem, parse_fields

FORMATS = {"ytid": "<youtube_id>", "ytid_start": "<youtube_id>_<start>", "csv": "<youtube_id>,<start>[,label,split]"}


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One line of the list: a YouTube id and, when the line gives it, the clip's start second."""

    youtube_id: str
    start_s: int | None  # None: every clip of the video
    line: int
    format: str  # a key of FORMATS


def parse_id_line(text: str, line: int = 0) -> ListEntry | RowProblem | None:
    """One line -> an entry, a problem, or None for a blank or ``#`` line."""
    text = text.strip()
    if not text or text.startswith("#"):
        return None
    if len(text) > MAX_LINE_CHARS:
        return RowProblem(line, "malformed_row", f"line {line}: {len(text)} characters, over {MAX_LINE_CHARS}")
    if "," in text:
        try:
            fields = next(csv.reader([text], strict=True))
        except csv.Error as exc:
            return RowProblem(line, "malformed_row", f"line {line}: not a CSV row ({exc})")
        if not 2 <= len(fields) <= 4:
            return RowProblem(line, "malformed_row", f"line {line}: expected 2 to 4 fields "
                              f"youtube_id,start[,label,split], got {len(fields)}")
        row = parse_fields(fields + [""] * (4 - len(fields)), line, check_split=False)
        return row if isinstance(row, RowProblem) else ListEntry(row.youtube_id, row.start_s, line, "csv")
    if YOUTUBE_ID.fullmatch(text):
        return ListEntry(text, None, line, "ytid")
    try:
        head, start = split_clip_name(text)
    except ValueError:
        head, start = "", -1
    if YOUTUBE_ID.fullmatch(head):
        return ListEntry(head, start, line, "ytid_start")
    return RowProblem(line, "bad_id", f"line {line}: expected {' or '.join(FORMATS.values())}, got {text[:60]!r}")


@dataclass
class IdList:
    """A read list: its entries, its bad lines, and the formats found."""

    path: str
    entries: list[ListEntry] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def format(self) -> str:
        """The format of the lines ("ytid", "ytid_start", "csv"), "mixed: ..." when they differ, "" when empty."""
        found = Counter(e.format for e in self.entries)
        if len(found) <= 1:
            return next(iter(found), "")
        return "mixed: " + ", ".join(f"{n} {f}" for f, n in found.most_common())

    def describe(self) -> str:
        """One sentence for a log: how many entries, which format, how many bad lines."""
        fmt = self.format
        shape = f" ({FORMATS[fmt]})" if fmt in FORMATS else ""
        return (f"{self.path}: {len(self.entries):,} entries, format {fmt or 'none'}{shape}"
                + (f"; {len(self.problems)} bad line(s), e.g. {self.problems[0].detail}" if self.problems else ""))

    def select(self, clips: Iterable[tuple[str, int]]) -> tuple[list[int], list[ListEntry]]:
        """Indices of the ``(youtube_id, start_s)`` clips the list selects, and the entries that select none."""
        ids = {e.youtube_id for e in self.entries if e.start_s is None}
        pairs = {(e.youtube_id, e.start_s) for e in self.entries if e.start_s is not None}
        chosen, hit = [], set()
        for i, (yt, start) in enumerate(clips):
            if yt in ids or (yt, start) in pairs:
                chosen.append(i)
                hit.update(((yt, None), (yt, start)))
        unmatched = [e for e in self.entries if (e.youtube_id, e.start_s) not in hit]
        return chosen, unmatched

    def select_names(self, names: Iterable[str]) -> tuple[list[int], list[ListEntry]]:
        """:meth:`select` over clip names ``<youtube_id>_<start>`` (any padding; other names are never selected)."""
        return self.select(_clip_key(name) for name in names)

    def report(self, n_chosen: int, n_clips: int, unmatched: list[ListEntry]) -> str:
        """One sentence on a selection: entries matched, clips kept, the first entry without a clip."""
        matched = len(self.entries) - len(unmatched)
        first = f", e.g. line {unmatched[0].line} ({unmatched[0].youtube_id})" if unmatched else ""
        return (f"{matched:,} of {len(self.entries):,} entries matched {n_chosen:,} of {n_clips:,} clip(s); "
                f"{len(unmatched):,} entries have no clip{first}")


def _clip_key(name: str) -> tuple[str, int]:
    try:
        return split_clip_name(name)
    except ValueError:
        return "", -1


def read_id_list(path: str | os.PathLike) -> IdList:
    """Every entry and bad line of a training list (a UTF-8 BOM is ignored, bad bytes replaced)."""
    out = IdList(str(path))
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        for n, text in enumerate(fh, start=1):
            got = parse_id_line(text.rstrip("\r\n"), n)
            if isinstance(got, ListEntry):
                out.entries.append(got)
            elif got is not None:
                out.problems.append(got)
    return out


__all__ = ["FORMATS", "IdList", "ListEntry", "parse_id_line", "read_id_list"]

"""The VGGSound row: ``youtube_id,start_s,label,split`` (the released CSV has no header).

The one reader of VGGSound-style lists, used by the pipeline's CSV source and by the trainer. Real rows look
like ``---g-f_I2yQ,1,people marching,test``: an id may begin with ``-``, labels may hold commas inside
quotes. Each physical line is parsed on its own (no VGGSound row spans lines), so a line with an unterminated
quote is one bad row instead of swallowing the rows after it. A bad line never stops the reading: it comes out
as a :class:`RowProblem` with a reason code and a sentence, and the caller records it.

Reason codes: ``malformed_row`` (field count, quoting, start second), ``bad_id`` (not an 11-character YouTube
id), ``bad_split`` (a split outside :data:`SPLITS`, when splits are checked).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

from avatar_bench.naming import YOUTUBE_ID, clip_name

SPLITS = ("train", "val", "test")
MAX_LINE_CHARS = 64 * 1024  # far above any real row; longer lines are refused, not parsed


@dataclass(frozen=True, slots=True)
class VGGSoundRow:
    """One clip of a VGGSound list."""

    youtube_id: str
    start_s: int
    label: str = ""
    split: str = ""
    line: int = 0  # 1-based line number in its file (0: not from a file)

    @property
    def name(self) -> str:
        """The toolkit's clip name ``<youtube_id>_<start:06d>``."""
        return clip_name(self.youtube_id, self.start_s)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A line that is not a valid row: its line number, a reason code and what was wrong."""

    line: int
    reason: str
    detail: str


def parse_fields(fields: list[str], line: int = 0, check_split: bool = True) -> VGGSoundRow | RowProblem:
    """A row from its four fields ``id, start_s, label, split`` (whitespace around fields is ignored)."""
    if len(fields) != 4:
        return RowProblem(line, "malformed_row",
                          f"line {line}: expected 4 fields id,start_s,label,split, got {len(fields)}")
    yt_id, start_text, label, split = (f.strip() for f in fields)
    if not YOUTUBE_ID.fullmatch(yt_id):
        return RowProblem(line, "bad_id", f"line {line}: expected an 11-character YouTube id, got {yt_id[:40]!r}")
    try:
        start = float(start_text)
    except ValueError:
        start = math.nan
    if not math.isfinite(start) or start < 0 or start != int(start) or start > 10**7:
        return RowProblem(line, "malformed_row",
                          f"line {line}: expected a whole number of seconds (0..1e7), got {start_text[:40]!r}")
    if check_split and split not in SPLITS:
        return RowProblem(line, "bad_split", f"line {line}: expected split in {SPLITS}, got {split[:40]!r}")
    return VGGSoundRow(yt_id, int(start), label, split, line)


def parse_line(text: str, line: int = 0, check_split: bool = True) -> VGGSoundRow | RowProblem | None:
    """One physical line → a row, a problem, or None for a blank or ``#`` comment line."""
    if not text.strip() or text.lstrip().startswith("#"):
        return None
    if len(text) > MAX_LINE_CHARS:
        return RowProblem(line, "malformed_row", f"line {line}: {len(text)} characters, over {MAX_LINE_CHARS}")
    try:
        fields = next(csv.reader([text], strict=True))
    except csv.Error as exc:
        return RowProblem(line, "malformed_row", f"line {line}: not a CSV row ({exc})")
    return parse_fields(fields, line, check_split)


def read_rows(path: str | os.PathLike, check_split: bool = True) -> Iterator[VGGSoundRow | RowProblem]:
    """Every row or problem of a VGGSound CSV, in file order (a UTF-8 BOM is ignored, bad bytes replaced)."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        for n, text in enumerate(fh, start=1):
            got = parse_line(text.rstrip("\r\n"), n, check_split)
            if got is not None:
                yield got

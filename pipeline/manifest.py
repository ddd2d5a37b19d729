"""Resumable, crash-safe Parquet manifests: one table per stage, keyed by a stable string id.

A stage appends one row per processed record (kept or rejected, with ``status`` and ``reason``). Rows are
buffered and flushed as small *part* files, each written atomically, so a ``SIGKILL`` loses at most the
rows since the last flush and never corrupts anything. ``finalize()`` merges the parts into
``<name>.parquet`` (atomic ``os.replace``) and removes them. On a rerun, ``done_ids()`` reads both the main
table and any parts left by a killed run, so finished records are skipped, and the merge keeps the last row
per key, so a record is never duplicated.

Layout::

    <dir>/<name>.parquet            the merged table
    <dir>/<name>.parts/*.parquet    rows flushed since the last merge (crash leftovers included)
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from avatar_bench.io import atomic_path
from pipeline.errors import PipelineError
from pipeline.records import STATUS_OK, STATUS_REJECTED, Record

R = TypeVar("R", bound=Record)
__all__ = ["STATUS_OK", "STATUS_REJECTED", "Manifest", "reason_counts"]


def _pd():
    import pandas as pd  # heavy: imported where used

    return pd


class Manifest(Generic[R]):
    """Append-only Parquet manifest of one stage, read and written as typed records.

    Normally opened through :meth:`pipeline.layout.WorkDir.manifest`, which knows each stage's file, record type
    and key. With a ``record`` type, :meth:`append` takes records of that type (``to_row`` gives the columns)
    and :meth:`records` gives them back; without one it takes plain mappings (a low-level use).

    Args:
        directory: folder of the manifests (created).
        name: stage name, e.g. ``"probe"``; the table is ``<directory>/<name>.parquet``.
        key: the column holding the stable record id (``video_id``, ``frame_id``...).
        flush_every: rows buffered before a part file is written.
        flush_seconds: a part is also written when this much time passed since the last flush.
        columns: the columns of the table while it has no rows (default: the record's fields, else the key), so
            readers of an empty stage still find the columns they check.
        record: the record type of the rows.
    """

    def __init__(self, directory: str | os.PathLike, name: str, key: str, flush_every: int = 50,
                 flush_seconds: float = 10.0, columns: Iterable[str] | None = None, record: type[R] | None = None):
        self.dir = Path(directory)
        self.name = name
        self.key = key
        self.record = record
        if columns is None:
            columns = record.columns() if record is not None else [key]
        self.columns = list(columns)
        self.path = self.dir / f"{name}.parquet"
        self.parts_dir = self.dir / f"{name}.parts"
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self._buffer: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()

    # ------------------------------------------------------------------ reading
    def _files(self) -> list[Path]:
        files = [self.path] if self.path.exists() else []
        if self.parts_dir.exists():
            files += sorted(self.parts_dir.glob("*.parquet"))
        return files

    def read(self):
        """All rows (main table + unmerged parts + unflushed buffer), last row per key, as a DataFrame."""
        pd = _pd()
        frames = [pd.read_parquet(f) for f in self._files()]
        if self._buffer:
            frames.append(pd.DataFrame(self._buffer))
        non_empty = [f for f in frames if len(f)]
        if not non_empty:  # keep the columns of an empty table (later stages check them)
            return frames[0].iloc[0:0] if frames else pd.DataFrame(columns=self.columns)
        frames = non_empty
        df = pd.concat(frames, ignore_index=True)
        return df.drop_duplicates(subset=[self.key], keep="last").reset_index(drop=True)

    def done_ids(self, status: str | None = None) -> set[str]:
        """Ids already recorded (optionally only those with the given ``status``)."""
        df = self.read()
        if status is not None and "status" in df.columns:
            df = df[df["status"] == status]
        return set(df[self.key].astype(str))

    def exists(self) -> bool:
        return bool(self._files())

    def records(self, status: str | None = None) -> list[R]:
        """Every record (optionally only those with ``status``), last row per key, in table order.

        Raises:
            PipelineError: the table lacks a column the record type needs (it was written by something else).
        """
        if self.record is None:
            raise TypeError(f"manifest {self.name}: opened without a record type")
        df = self.read()
        missing = [c for c in self.record.required() if c not in df.columns]
        if missing:
            raise PipelineError(f"{self.name} manifest {self.path}: expected columns {missing}, got {list(df.columns)}")
        if status is not None and "status" in df.columns:
            df = df[df["status"] == status]
        return [self.record.from_row(row) for row in df.to_dict("records")]

    # ------------------------------------------------------------------ writing
    def append(self, item: R | Mapping[str, Any]) -> None:
        """Add one record (a plain mapping only for a manifest opened without a record type)."""
        if self.record is not None:
            if not isinstance(item, self.record):
                raise TypeError(f"manifest {self.name}: expected a {self.record.__name__}, got {type(item).__name__}")
            row = item.to_row()
        else:
            row = dict(item)  # type: ignore[arg-type]
        if self.key not in row:
            raise KeyError(f"manifest {self.name}: row lacks its key column {self.key!r}")
        self._buffer.append(row)
        if len(self._buffer) >= self.flush_every or time.monotonic() - self._last_flush > self.flush_seconds:
            self.flush()

    def extend(self, items: Iterable[R | Mapping[str, Any]]) -> None:
        for item in items:
            self.append(item)

    def remove(self, ids: Iterable[str]) -> int:
        """Drop the rows of these keys (stale results after a settings change); return how many were dropped.

        The table is rewritten atomically with the parts merged in, so a kill leaves either the old or the new table.
        """
        ids = set(map(str, ids))
        self.flush()
        df = self.read()
        if not ids or not len(df):
            return 0
        drop = df[self.key].astype(str).isin(ids)
        if not drop.any():
            return 0
        self._write_table(df[~drop].reset_index(drop=True))
        return int(drop.sum())

    def flush(self) -> None:
        """Write buffered rows as one part file (atomically)."""
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        pd = _pd()
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        part = self.parts_dir / f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        with atomic_path(part) as tmp:
            pd.DataFrame(self._buffer).to_parquet(tmp, index=False)
        self._buffer.clear()

    def finalize(self):
        """Flush, merge parts into the main table (atomic replace), delete the parts; return the table."""
        self.flush()
        df = self.read()
        if (self.parts_dir.exists() and any(self.parts_dir.glob("*.parquet"))) or not self.path.exists():
            self._write_table(df)
        return df

    def _write_table(self, df) -> None:
        """Replace the main table by ``df`` (atomically), then delete the parts it includes."""
        parts = sorted(self.parts_dir.glob("*.parquet")) if self.parts_dir.exists() else []
        self.dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            df.to_parquet(tmp, index=False)
        for p in parts:
            p.unlink(missing_ok=True)
        if self.parts_dir.exists() and not any(self.parts_dir.iterdir()):
            self.parts_dir.rmdir()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc) -> None:
        # Flush even on error (rows already processed are kept); merge only on success.
        self.flush()
        if exc[0] is None:
            self.finalize()


def reason_counts(df, status_col: str = "status", reason_col: str = "reason") -> dict[str, int]:
    """Count rejected rows per reason code: ``{"no_audio": 3, ...}`` (empty when nothing was rejected)."""
    if df is None or not len(df) or status_col not in df.columns:
        return {}
    rejected = df[df[status_col] == STATUS_REJECTED]
    return {str(k): int(v) for k, v in rejected[reason_col].value_counts().items()}

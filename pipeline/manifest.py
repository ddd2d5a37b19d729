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
from typing import Any

from avatar_bench.io import atomic_path

STATUS_OK = "ok"
STATUS_REJECTED = "rejected"


def _pd():
    import pandas as pd  # heavy: imported where used

    return pd


class Manifest:
    """Append-only Parquet manifest of one stage.

    Args:
        directory: folder of the manifests (created).
        name: stage name, e.g. ``"probe"``; the table is ``<directory>/<name>.parquet``.
        key: the column holding the stable record id (``video_id``, ``frame_id``...).
        flush_every: rows buffered before a part file is written.
        flush_seconds: a part is also written when this much time passed since the last flush.
        columns: the columns of the table while it has no rows (default: the key only), so readers of an empty
            stage still find the columns they check.
    """

    def __init__(self, directory: str | os.PathLike, name: str, key: str, flush_every: int = 50,
                 flush_seconds: float = 10.0, columns: Iterable[str] | None = None):
        self.dir = Path(directory)
        self.name = name
        self.key = key
        self.columns = list(columns) if columns is not None else [key]
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

    # ------------------------------------------------------------------ writing
    def append(self, row: Mapping[str, Any]) -> None:
        if self.key not in row:
            raise KeyError(f"manifest {self.name}: row lacks its key column {self.key!r}")
        self._buffer.append(dict(row))
        if len(self._buffer) >= self.flush_every or time.monotonic() - self._last_flush > self.flush_seconds:
            self.flush()

    def extend(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.append(row)

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
        parts = sorted(self.parts_dir.glob("*.parquet")) if self.parts_dir.exists() else []
        if parts or not self.path.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.path) as tmp:
                df.to_parquet(tmp, index=False)
            for p in parts:
                p.unlink(missing_ok=True)
        if self.parts_dir.exists() and not any(self.parts_dir.iterdir()):
            self.parts_dir.rmdir()
        return df

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

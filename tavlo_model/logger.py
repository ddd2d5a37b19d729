"""Metrics to a CSV file (``step,epoch,split,name,value``) and to TensorBoard (rank 0 only), the progress bar
of ``tavlo-train``, and strict JSON (no NaN) for summaries."""

from __future__ import annotations

import csv
import logging
import math
import os
import sys
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)


class MetricLogger:
    """Append metrics to ``out_dir/metrics.csv`` and ``out_dir/tb`` (TensorBoard, when installed)."""

    def __init__(self, out_dir: str | os.PathLike, enabled: bool = True, tensorboard: bool = True):
        self.enabled = enabled
        self.path = Path(out_dir) / "metrics.csv"
        self.tb = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self.path.write_text("step,epoch,split,name,value\n", encoding="utf-8")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(Path(out_dir) / "tb"))
            except ImportError:
                log.warning("tensorboard is not installed: metrics go to %s only", self.path)

    def log(self, step: int, epoch: int, split: str, metrics: dict[str, float]) -> None:
        """Record every finite-or-NaN number of ``metrics`` under ``split/name``."""
        if not self.enabled:
            return
        rows = [(step, epoch, split, k, float(v)) for k, v in metrics.items() if isinstance(v, (int, float))]
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
        if self.tb is not None:
            for _, _, _, name, value in rows:
                if not math.isnan(value):
                    self.tb.add_scalar(f"{split}/{name}", value, step)
            self.tb.flush()

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``metrics.csv`` as dicts with typed values."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [{"step": int(r["step"]), "epoch": int(r["epoch"]), "split": r["split"], "name": r["name"],
                 "value": float(r["value"])} for r in csv.DictReader(fh)]


def strict_json(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by ``None``: serialisable with ``allow_nan=False``."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    return obj


class ProgressBar:
    """A tqdm bar over optimizer steps: step/total, loss, samples/s and the ETA; off when not enabled or when
    its stream is not a terminal. Log lines are routed through it while it is open so they do not break it."""

    def __init__(self, enabled: bool, file: IO[str] | None = None):
        self.enabled, self.file, self.bar, self._redirect = enabled, file, None, None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from tqdm.contrib.logging import logging_redirect_tqdm

            self._redirect = logging_redirect_tqdm()
            self._redirect.__enter__()
        return self

    def start(self, total: int, initial: int = 0) -> None:
        if self.enabled:
            from tqdm import tqdm

            stream = self.file or sys.stderr
            self.bar = tqdm(total=total or None, initial=initial, unit="step", desc="tavlo-train", file=stream,
                            dynamic_ncols=True, disable=not _is_terminal(stream))

    def update(self, state: Any, stats: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{stats['loss']:.4f}", samples_s=f"{stats['samples_per_s']:.1f}",
                                 refresh=False)
            self.bar.update(state.step - self.bar.n)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()
        if self._redirect is not None:
            self._redirect.__exit__(*exc)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

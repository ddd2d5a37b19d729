"""Metrics to a CSV file (``step,epoch,split,name,value``) and to TensorBoard, from rank 0 only."""

from __future__ import annotations

import csv
import logging
import math
import os
from pathlib import Path

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

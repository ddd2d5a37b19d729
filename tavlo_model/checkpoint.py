"""Checkpoints that resume exactly: model, optimizer, AMP scaler, config, progress, best score and RNG states.

Everything is stored as tensors and plain Python values, so ``torch.load(weights_only=True)`` reads it.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avatar_bench.io import atomic_path
from tavlo_model.errors import TavloError


def rng_state() -> dict[str, Any]:
    """Every RNG the training step may touch, in a ``weights_only``-loadable form."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))


def save_checkpoint(path: str | os.PathLike, **fields: Any) -> None:
    """Write ``fields`` (model, optimizer, scaler state dicts, config dict, progress ...) atomically."""
    with atomic_path(path) as tmp:
        torch.save(fields, tmp)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; a missing or foreign file raises :class:`TavloError`."""
    path = Path(path)
    if not path.is_file():
        raise TavloError(f"checkpoint {path}: file not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # pickle/zip errors of a corrupt or foreign file
        raise TavloError(f"checkpoint {path}: cannot be read as a TAVLO checkpoint ({exc})") from None
    missing = [k for k in ("model", "config") if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise TavloError(f"checkpoint {path}: expected keys model and config, missing {missing}")
    return ckpt


def check_writable(folder: str | os.PathLike, what: str) -> None:
    """Create ``folder`` if needed and write (then remove) a temporary file in it; :class:`TavloError` if not."""
    import tempfile

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise TavloError(f"{what} {folder}: expected a folder this user can write, got {exc.strerror or exc}") from None

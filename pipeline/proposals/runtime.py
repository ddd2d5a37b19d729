"""Process-wide settings for the model libraries: offline, caches out of $HOME, device choice.

ultralytics reads ``YOLO_OFFLINE`` and ``YOLO_CONFIG_DIR`` when it is first imported (and writes a settings file
there), so :func:`import_ultralytics` sets both before the import: offline always, the config dir inside the
AVATAR cache (``$AVATAR_HOME/ultralytics``, by default the user cache) unless the caller set one.

ultralytics also logs to **stdout** (its handler is ``StreamHandler(sys.stdout)``, and the first import on a
machine logs "Creating new Ultralytics Settings ..."), which would corrupt a CLI whose stdout is its JSON result;
the import runs with stdout sent to stderr and its handlers are pointed at stderr afterwards.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
from pathlib import Path

from avatar_bench.errors import MissingDependencyError

log = logging.getLogger(__name__)


def ensure_offline_env() -> None:
    """Set ``YOLO_OFFLINE=1`` and a ``YOLO_CONFIG_DIR`` under the AVATAR cache (unless already set)."""
    from pipeline.settings import get_settings

    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(get_settings().home / "ultralytics"))
    Path(os.environ["YOLO_CONFIG_DIR"]).mkdir(parents=True, exist_ok=True)


def import_ultralytics():
    """Import ultralytics with the offline environment set first; a clear error names the pip extra if absent."""
    ensure_offline_env()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            import ultralytics
    except ModuleNotFoundError:
        raise MissingDependencyError("ultralytics", "pipeline") from None
    for handler in logging.getLogger("ultralytics").handlers:  # imported earlier by someone else: move it too
        if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.__stdout__):
            handler.setStream(sys.stderr)
    return ultralytics


def package_dir(name: str) -> Path | None:
    """Install folder of a package found without importing it (importing ultralytics writes settings files)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def resolve_device(device: str | None = "auto") -> str:
    """``"auto"`` → ``"cuda"`` when a GPU is visible, else ``"cpu"``; an explicit choice is checked."""
    import torch

    device = (device or "auto").lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        from pipeline.errors import PipelineError

        raise PipelineError(f"device {device!r}: expected a visible CUDA GPU, found none (use --device cpu)")
    return device

"""Where the toolkit keeps its caches: the one rule for ``AVATAR_HOME``, used by every package."""

from __future__ import annotations

import os
from pathlib import Path


def avatar_home() -> Path:
    """``$AVATAR_HOME``, else ``${XDG_CACHE_HOME:-~/.cache}/avatar`` (model weights, import caches)."""
    home = os.environ.get("AVATAR_HOME")
    if home:
        return Path(home)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "avatar"

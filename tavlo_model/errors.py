"""The one exception type of ``tavlo_model`` for expected bad input (configs, videos, checkpoints)."""

from __future__ import annotations

from avatar_bench.errors import AvatarError


class TavloError(AvatarError):
    """Bad input to TAVLO training or inference; the message names the record and says expected vs got."""

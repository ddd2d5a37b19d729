"""Progress bars for the stages: tqdm, off when asked and whenever stderr is not a terminal.

The CLIs run the stages inside :func:`tqdm.contrib.logging.logging_redirect_tqdm` (see :mod:`pipeline.cli`), so
log lines print above the bars instead of breaking them.
"""

from __future__ import annotations

from typing import Any


def bar(total: int | None = None, desc: str = "", unit: str = "it", enabled: bool = True) -> Any:
    """A tqdm bar; ``enabled=False`` never shows one, ``True`` shows one only on a terminal (tqdm's ``None``)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=None if enabled else True, dynamic_ncols=True)

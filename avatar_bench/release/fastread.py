"""Reading and parsing many small JSON files fast, with exactly the results (and errors) of ``json.loads``.

Measured on the 24,266 frame JSONs of ``benchmarks/import_release.py`` (CPU seconds, sparse / dense polygons):
``open().read()`` 0.23 s, :func:`read_bytes` 0.13 s; ``json.loads`` 0.40 / 4.3 s, :func:`loads` 0.12 / 1.4 s.
"""

from __future__ import annotations

import json
import os
from typing import Any

import orjson

_CHUNK = 1 << 16
_DIGITS_ONLY = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))  # digits kept, any other byte a space
_LONG_NUMBER = b"0" * 19  # a run of 19 digits


def read_bytes(path: str) -> bytes:
    """The file's bytes, through the OS calls alone: no buffered file object (~4 us less per file)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        chunks = []
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def loads(data: bytes) -> Any:
    """``json.loads(data)``: the same value, or the same exception, ~3.5x faster.

    orjson parses what it reads exactly as json does (strict RFC 8259, correctly rounded floats, the last of
    duplicate keys). What it refuses goes to ``json.loads``, so json's extensions and messages stay: NaN,
    Infinity, ``1e400``, a BOM, UTF-16, lone surrogates, nesting past orjson's 1024 levels, and every syntax
    error. One difference would pass silently: orjson reads integers beyond 64 bits as floats, so a text with
    any run of 19 digits goes to json as well (one C pass over the bytes to find it, ~1 us for a 600-byte file).
    """
    if _LONG_NUMBER not in data.translate(_DIGITS_ONLY):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:  # json gives the verdict, and its own message
            pass
    return json.loads(data)

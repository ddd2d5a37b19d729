"""Service credentials: where a token may come from, what it may look like, and keeping it out of messages.

The rules (the developers' guide: tokens from the environment or a 0600 file only, never in a message or a log):

- a token file holds the token alone on one line (one trailing newline allowed), as UTF-8 printable ASCII,
  and is readable by its owner only (mode 0600 or stricter); anything else is refused with a message that says
  what was found, never the token itself;
- a service URL carries no credentials (``user:password@``) and no query (``?token=...``): those end up in
  logs, so they are refused, and the refusal shows the URL with those parts masked;
- :func:`scrub` masks the token, bearer headers and JWT-looking strings in any text (server bodies, exceptions)
  before it becomes part of a message.
"""

from __future__ import annotations

import os
import re
import stat
import urllib.parse
from pathlib import Path

from pipeline.errors import PipelineError

MASK = "***"
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_AUTH = re.compile(r"(?i)\b(bearer|token|api_key|access_token|refresh)(\s+|=|\":\s*\")([A-Za-z0-9._~+/-]{16,})")
_TOKEN_CHARS = re.compile(r"[!-~]+")  # printable ASCII, no space


def redact_url(url: str) -> str:
    """``url`` with any user/password and query/fragment replaced by ``***`` (safe to print)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK
    netloc = (f"{MASK}@" if parts.username is not None or parts.password is not None else "") + host
    netloc += f":{port}" if port else ""
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, MASK if parts.query else "",
                                    MASK if parts.fragment else ""))


def check_service_url(url: str, name: str = "LABEL_STUDIO_URL") -> str:
    """The URL without a trailing slash; :class:`PipelineError` when it is not a plain http(s) base URL."""
    shown = redact_url(url)
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise PipelineError(f"{name} {shown}: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PipelineError(f"{name} {shown}: expected http://HOST:PORT or https://HOST:PORT")
    if parts.username is not None or parts.password is not None:
        raise PipelineError(f"{name} {shown}: credentials in the URL (user:password@) are refused, they would end "
                            "up in logs; give the token in LABEL_STUDIO_TOKEN_FILE (0600) or LABEL_STUDIO_API_KEY")
    if parts.query or parts.fragment:
        raise PipelineError(f"{name} {shown}: a query or fragment in the URL (e.g. ?token=...) is refused, it would "
                            "end up in logs; give the base URL only and the token in LABEL_STUDIO_TOKEN_FILE")
    return url.rstrip("/")


def check_token(token: str, source: str) -> str:
    """The token itself (one trailing newline removed); :class:`PipelineError` naming ``source`` when malformed."""
    value = token[:-1] if token.endswith("\n") else token
    if not value.strip():
        raise PipelineError(f"{source}: empty; expected the personal access token on one line")
    if "\r" in value:
        raise PipelineError(f"{source}: contains a carriage return (a file saved with Windows line endings?); "
                            "expected the token alone on one line")
    if "\n" in value:
        raise PipelineError(f"{source}: holds {value.count(chr(10)) + 1} lines; expected the token alone on one line")
    if not _TOKEN_CHARS.fullmatch(value):
        bad = sorted({"a space" if c.isspace() else "non-ASCII characters" for c in value
                      if c.isspace() or not c.isascii() or not c.isprintable()})
        raise PipelineError(f"{source}: contains {' and '.join(bad)}; expected the token Label Studio gave "
                            "(printable ASCII: letters, digits, '.', '_', '-')")
    return value


def read_token_file(path: Path) -> str:
    """The token in ``path``: owner-only permissions, UTF-8, one line (:func:`check_token`)."""
    try:
        info = os.stat(path)
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PipelineError(f"token file {path}: cannot read it ({exc.strerror or exc})") from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise PipelineError(f"token file {path}: readable by others (mode {stat.S_IMODE(info.st_mode):04o}); "
                            f"expected 0600: run `chmod 600 {path}`")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PipelineError(f"token file {path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                            f"{exc.start}); expected the token on one line") from None
    return check_token(text, f"token file {path}")


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with the given secrets, bearer/token headers and JWT-looking strings masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    text = _JWT.sub(MASK, text)
    return _AUTH.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)

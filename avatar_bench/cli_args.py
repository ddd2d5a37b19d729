"""Shared argparse pieces of the toolkit's command lines: one-line errors, defaults in ``--help``, number types."""

from __future__ import annotations

import argparse
from collections.abc import Callable


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad argument on one line, ``<prog>: error: ...``, with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog.split()[0]}: error: {message}\n")


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's defaults formatter, minus the noise: no ``(default: ...)`` for required options, flags, or
    options whose default is None or empty (their help says what leaving them out means)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (action.required or default is None or default is False or default == "" or default == argparse.SUPPRESS
                or "%(default)" in text
                or isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))):
            return text
        return f"{text} (default: %(default)s)"


def int_at_least(lo: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers >= ``lo`` (``expected an integer >= lo, got '...'``)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lo}, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lo}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {lo}"  # argparse names the type in its messages
    return parse

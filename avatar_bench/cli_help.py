"""``--help`` that shows each option's default, the one formatter of the toolkit's command lines."""

from __future__ import annotations

import argparse


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

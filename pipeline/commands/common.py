"""What every ``avatar-pipeline`` command shares: flags, their help, the config loader and the output.

Every command (and each of ``review push|pull|status``) takes ``--work-dir`` (the batch's work folder; old
spellings stay as hidden, deprecated aliases), ``-q/--quiet``, ``-v/--verbose``, ``--json`` and
``--no-progress``; the stage commands take ``--config FILE`` and ``--set section.key=value`` for their settings,
read by :func:`pipeline.config.load_config`. Defaults are shown in ``--help``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipeline.stats import StageStats

WORK_DIR_HELP = "the batch's work folder (default: $AVATAR_WORK_DIR, else ./work)"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: X)`` only where there is a default worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, False, [], argparse.SUPPRESS) or "%(default)" in text or "default:" in text:
            return text
        return super()._get_help_string(action)


class _Deprecated(argparse.Action):
    """A hidden old spelling of a flag: stores into the new one and remembers to warn."""

    def __init__(self, option_strings, dest, new: str = "", **kwargs):
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.deprecated = [*getattr(namespace, "deprecated", []), f"{option_string} is deprecated: use {self.new}"]


def common_parser() -> argparse.ArgumentParser:
    """The flags of every command (a parent parser)."""
    p = argparse.ArgumentParser(add_help=False)
    out = p.add_argument_group("output")
    out.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors; a one-line result")
    out.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    out.add_argument("--json", action="store_true", help="print the result as JSON (the stage's statistics)")
    out.add_argument("--no-progress", action="store_true", help="no progress bars (they never show off a terminal)")
    return p


def add_work_dir(parser: argparse.ArgumentParser, aliases: Sequence[str] = ()) -> None:
    parser.add_argument("--work-dir", type=Path, default=None, help=WORK_DIR_HELP)
    for alias in aliases:
        parser.add_argument(alias, dest="work_dir", type=Path, action=_Deprecated, new="--work-dir")


def add_settings(parser: argparse.ArgumentParser, what: str) -> None:
    """``--config FILE`` and repeatable ``--set section.key=value`` for the stage's settings."""
    group = parser.add_argument_group("settings", f"{what}; order: defaults < --config < --set < the flags above")
    group.add_argument("--config", type=Path, default=None, metavar="FILE",
                       help="YAML/JSON mapping of settings (see docs/pipeline.md)")
    group.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                       help="override one setting, e.g. --set probe.min_short_side=240 (repeatable; null for none)")


def work_dir(args: argparse.Namespace) -> Path:
    from pipeline.settings import get_settings

    return Path(args.work_dir) if args.work_dir is not None else Path(get_settings().work_dir)


def progress(args: argparse.Namespace) -> bool:
    return not (args.quiet or args.no_progress)


def emit(args: argparse.Namespace, stats: StageStats, text: Callable[[StageStats], str] | None = None) -> None:
    """Print a stage's result: JSON, one line (``-q``), or the command's text (default: the generic table)."""
    if args.json:
        print(json.dumps(stats.to_dict(), indent=2, default=str))
    elif args.quiet:
        print(f"{stats.stage}: {stats.headline_text()}, {stats.n_rejected} rejected")
    else:
        print((text or StageStats.text)(stats))


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)
    print()

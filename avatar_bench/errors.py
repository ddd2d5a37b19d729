"""Exception types for expected bad input. Their messages name the record and say what was expected.

:func:`run_cli` maps them to the command-line tools' exit statuses: 2 for bad input (a message, never a
traceback), 130 when interrupted.
"""

import sys
from collections.abc import Callable

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class AvatarError(Exception):
    """Base class of the errors this package raises for bad input (never for bugs)."""


class ProblemsError(AvatarError):
    """An error that lists every problem found (up to 50 shown in the message); ``problems`` holds them all."""

    MAX_SHOWN = 50

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        if self.problems:
            shown = "\n  - ".join(self.problems[: self.MAX_SHOWN])
            hidden = len(self.problems) - self.MAX_SHOWN
            more = f"\n  ... and {hidden} more" if hidden > 0 else ""
            message = f"{message}\n  - {shown}{more}"
        super().__init__(message)


class AvatarFormatError(ProblemsError):
    """An AVATAR-COCO annotation file is malformed. ``problems`` lists every problem found."""


class SubmissionError(ProblemsError):
    """A submission cannot be scored. ``problems`` lists every problem found, each naming its frame."""


class MissingDependencyError(AvatarError):
    """An optional dependency is not installed; the message names the pip extra that brings it."""

    def __init__(self, module: str, extra: str):
        super().__init__(f"this feature needs the '{module}' package: pip install -e '.[{extra}]' "
                         "in the toolkit's checkout")
        self.module = module
        self.extra = extra


class ReleaseError(ProblemsError):
    """The released AVATAR benchmark folder cannot be imported. ``problems`` lists every error, each naming its
    file (nothing is written then)."""


def run_cli(prog: str, command: Callable[[], int]) -> int:
    """Run a CLI's ``command``; bad input (:class:`AvatarError`, ``OSError``) prints ``<prog>: error: ...`` and
    gives 2, Ctrl-C gives 130."""
    try:
        return command()
    except AvatarError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # e.g. an output not writable, a file vanished while reading
        print(f"{prog}: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED

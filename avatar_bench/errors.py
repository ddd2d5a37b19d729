"""Exception types for expected bad input. Their messages name the record and say what was expected."""


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
        super().__init__(f"this feature needs the '{module}' package: pip install 'avatar-toolkit[{extra}]'")
        self.module = module
        self.extra = extra


class ReleaseError(ProblemsError):
    """The released AVATAR benchmark folder cannot be imported. ``problems`` lists every error, each naming its
    file (nothing is written then)."""

"""The one exception type of the pipeline for expected bad input or unavailable services."""

from avatar_bench.errors import AvatarError


class PipelineError(AvatarError):
    """Expected failure with a message that names the record: ``video X: expected an audio stream, found none``."""


class Rejected(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a stage for one record: the record is dropped with ``reason`` (a short code) and ``detail``."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

"""AVATAR benchmark toolkit: formats, metrics and the ``avatar-eval`` scorer.

This package imports neither ``pipeline`` nor ``tavlo_model``; both depend on it.
Heavy optional dependencies are imported inside the modules that need them.
"""

from avatar_bench.errors import AvatarFormatError, SubmissionError
from avatar_bench.format import (
    SCENARIOS,
    SCHEMA_VERSION,
    Annotation,
    AvatarDataset,
    Category,
    Image,
    Video,
)

__all__ = [
    "SCENARIOS",
    "SCHEMA_VERSION",
    "Annotation",
    "AvatarDataset",
    "AvatarFormatError",
    "Category",
    "Image",
    "SubmissionError",
    "Video",
]
__version__ = "0.1.0"

"""Model variants by name (timm's ``_registry``/``_factory`` pattern): ``create_model(name, **overrides)``.

The variants themselves (which fields each sets, and why) are in :mod:`tavlo_model.variants`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tavlo_model.config import list_models, model_config
from tavlo_model.variants import variant

__all__ = ["create_model", "list_models", "model_config", "register_model"]


def register_model(fn: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Register a function returning a variant's :class:`ModelConfig` fields under the function's name."""
    return variant(fn)


def create_model(name: str, **overrides):
    """Build variant ``name`` (see :func:`list_models`) with ``overrides`` of its :class:`ModelConfig` fields.

    Example: ``create_model("tavlo_r18_t4", img_size=64, visual_width=16)``.
    """
    from tavlo_model.model import Tavlo

    return Tavlo(model_config(name, **overrides))

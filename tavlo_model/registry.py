"""Model variants by name (timm's ``_registry``/``_factory`` pattern): ``create_model(name, **overrides)``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tavlo_model.config import ModelConfig
from tavlo_model.errors import TavloError

_VARIANTS: dict[str, Callable[[], ModelConfig]] = {}
# The *_cpu variants: minutes of from-scratch CPU training on AVATAR-Synth `small` (tavlo_model/configs/synth_*).
# 64 px frames; a quarter-width, three-stage ResNet-18 trunk run on each 16 px patch (every 8 px: an 8x8 grid)
# so a location's feature sees its patch only; one AST block whose spatial step leaves each location alone
# (spatial_radius 0: a token sees its own patch and its own history); max-pooled negatives for both models.
# From scratch, whole-frame features (a receptive field larger than the frame) let the max location carry
# global evidence and mean-pooled negatives collapse onto one location (docs/tavlo.md: "findings").
_CPU = dict(img_size=64, visual_width=16, visual_stages=3, visual_patch=16, audio_channels=(16, 32, 64), n_mels=64,
            feat_dim=64, time_dim=16, depth=1, num_heads=4, embed_dim=64, spatial_radius=0, negatives="max")


def register_model(fn: Callable[[], ModelConfig]) -> Callable[[], ModelConfig]:
    """Register a function returning a variant's :class:`ModelConfig` under the function's name."""
    _VARIANTS[fn.__name__] = fn
    return fn


@register_model
def tavlo_r18_t4() -> ModelConfig:
    """TAVLO: ResNet-18, T=4 frames per 1 s window, factorized AST, mean-pooled negatives (DESIGN section 6)."""
    return ModelConfig(name="tavlo_r18_t4", num_frames=4, negatives="mean")


@register_model
def ezvsl_r18() -> ModelConfig:
    """EZ-VSL-style single-frame baseline: the same code with T=1 and max-pooled negatives."""
    return ModelConfig(name="ezvsl_r18", num_frames=1, negatives="max")


@register_model
def tavlo_r18_t4_cpu() -> ModelConfig:
    """TAVLO sized for minutes of CPU training from scratch (see ``_CPU``)."""
    return ModelConfig(name="tavlo_r18_t4_cpu", num_frames=4, **_CPU)


@register_model
def ezvsl_r18_cpu() -> ModelConfig:
    """The single-frame baseline at the CPU size of :func:`tavlo_r18_t4_cpu`."""
    return ModelConfig(name="ezvsl_r18_cpu", num_frames=1, **_CPU)



def list_models() -> list[str]:
    """Names accepted by :func:`create_model`."""
    return sorted(_VARIANTS)


def model_config(name: str, **overrides) -> ModelConfig:
    """The :class:`ModelConfig` of variant ``name`` with ``overrides`` applied; unknown names/keys raise."""
    if name not in _VARIANTS:
        raise TavloError(f"unknown model {name!r}; expected one of {list_models()}")
    cfg = _VARIANTS[name]()
    known = {f.name for f in dataclasses.fields(cfg)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TavloError(f"model {name}: unknown config key(s) {unknown}; known: {sorted(known)}")
    cfg = dataclasses.replace(cfg, **overrides)
    cfg.check()
    return cfg


def create_model(name: str, **overrides):
    """Build variant ``name`` (see :func:`list_models`) with ``overrides`` of its :class:`ModelConfig` fields.

    Example: ``create_model("tavlo_r18_t4", img_size=64, visual_width=16)``.
    """
    from tavlo_model.model import Tavlo

    return Tavlo(model_config(name, **overrides))

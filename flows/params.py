"""Typed flow parameters: pydantic mirrors of the stages' settings dataclasses, so the Prefect UI shows a form.

The settings themselves stay where they are (:class:`pipeline.prepare.PrepareConfig`,
:class:`pipeline.proposals.config.ProposeConfig`, checked by :func:`pipeline.config.load_config`); the models here
are generated from them (same fields, types and nesting, the comment after each field as its description), so no
field is written twice. A flow turns its parameter back into the stage's settings with :func:`prepare_config` /
:func:`propose_config`, through the one loader (types, ranges, did-you-mean).

- :data:`PrepareSettings`: every field with the stage's default (the form shows them filled in).
- :data:`ProposeSettings`: every field optional; an empty field takes the value of the chosen ``models`` preset
  (:data:`PRESETS`: ``paper``, the full-size models on a GPU; ``cpu-demo``, the small real models on a CPU;
  ``no-weights``, bare frames to review).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from pipeline.config import StrictConfig, load_config
from pipeline.prepare import PrepareConfig
from pipeline.proposals.config import ProposeConfig

Preset = Literal["paper", "cpu-demo", "no-weights"]
ChunkSize = Annotated[int, Field(ge=1)]  # records per chunk task: refused before the run starts when < 1
PRESETS: tuple[str, ...] = typing.get_args(Preset)
_FIELD_COMMENT = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+)$")


@functools.cache
def _comments(cls: type) -> dict[str, str]:
    """``{field: the comment after it}`` from the dataclass's source (empty when the source is not available)."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    return {m[1]: m[2].strip() for line in source.splitlines() if (m := _FIELD_COMMENT.match(line))}


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()  # type: ignore[misc]


def settings_model(cls: type[StrictConfig], optional: bool = False) -> type[BaseModel]:
    """A pydantic model with the fields of the settings dataclass ``cls`` (nested sections become nested models).

    Args:
        cls: a :class:`~pipeline.config.StrictConfig` dataclass.
        optional: every field ``None`` by default (``None``: "not given", the preset's value is used).
    """
    hints = typing.get_type_hints(cls)
    comments = _comments(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        hint, default = hints[f.name], _default(f)
        text = comments.get(f.name, "")
        if dataclasses.is_dataclass(hint):
            sub = settings_model(hint, optional)
            fields[f.name] = (sub, Field(default_factory=sub, description=text or None))
            continue
        if optional:
            shown = "empty" if default is None else repr(default)
            fields[f.name] = (hint | None, Field(None, description=f"{text} (paper: {shown})".strip()))
        else:
            fields[f.name] = (hint, Field(default, description=text or None))
    return create_model(f"{cls.__name__.removesuffix('Config')}Settings",
                        __config__=ConfigDict(extra="forbid"), __doc__=(cls.__doc__ or "").strip() or None,
                        **fields)


PrepareSettings = settings_model(PrepareConfig)
ProposeSettings = settings_model(ProposeConfig, optional=True)


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"rules": {"det_min": 0.2}}`` → ``{"rules.det_min": 0.2}`` (dict-valued fields such as
    ``detector_options`` are values, not sections)."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, BaseModel):
            out.update(_flat(dict(value), f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _as_model(model: type[BaseModel], value: BaseModel | dict[str, Any] | None) -> BaseModel:
    if value is None:
        return model()
    return value if isinstance(value, model) else model.model_validate(dict(value))


def prepare_config(settings: BaseModel | dict[str, Any] | None) -> PrepareConfig:
    """The flow parameter as :class:`PrepareConfig` (PipelineError for a value out of range)."""
    return load_config(PrepareConfig, base=_as_model(PrepareSettings, settings).model_dump())


def preset_values(models: str, models_dir: str | None = None) -> dict[str, Any]:
    """The settings a ``models`` preset starts from (PipelineError for an unknown one)."""
    if models == "paper":
        return {}
    if models == "no-weights":
        return ProposeConfig.no_weights_dict()
    if models == "cpu-demo":
        from pipeline.settings import get_settings

        return ProposeConfig.cpu_demo_dict(str(models_dir or get_settings().models_dir))
    from pipeline.errors import PipelineError

    raise PipelineError(f"models preset {models!r}: expected one of {PRESETS}")


def propose_config(settings: BaseModel | dict[str, Any] | None, models: str = "paper",
                   models_dir: str | None = None) -> ProposeConfig:
    """The flow parameter as :class:`ProposeConfig`: the ``models`` preset, then every field given (not None)."""
    given = _flat(dict(_as_model(ProposeSettings, settings)))
    return load_config(ProposeConfig, values=given, base=preset_values(models, models_dir))

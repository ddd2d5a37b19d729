"""Nested config dataclasses from/to plain dicts, and ``section.key=value`` overrides (CLI ``--set``)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pipeline.errors import PipelineError

T = TypeVar("T")


def to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass (nested ones included) as plain dicts."""
    return {f.name: (to_dict(v) if dataclasses.is_dataclass(v := getattr(config, f.name)) else v)
            for f in dataclasses.fields(config)}


def from_dict(cls: type[T], d: dict[str, Any], where: str = "config") -> T:
    """Build ``cls`` from a dict; unknown keys and wrong types raise :class:`PipelineError`."""
    if not isinstance(d, dict):
        raise PipelineError(f"{where}: expected a mapping, got {type(d).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise PipelineError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(fields)}")
    base = cls()
    kwargs = {}
    for name, value in d.items():
        current = getattr(base, name)
        if dataclasses.is_dataclass(current):
            kwargs[name] = from_dict(type(current), value, f"{where}.{name}")
        else:
            kwargs[name] = _coerce(value, current, f"{where}.{name}")
    return cls(**kwargs)


def _coerce(value: Any, default: Any, where: str) -> Any:
    if value is None or default is None or isinstance(value, type(default)):
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise PipelineError(f"{where}: expected {type(default).__name__}, got {value!r}")


def apply_overrides(d: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``["probe.min_short_side=240", "workers=4"]`` to a nested dict (values parsed as YAML scalars)."""
    import yaml

    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in d.items()}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise PipelineError(f"override {item!r}: expected section.key=value")
        *path, last = key.strip().split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise PipelineError(f"override {item!r}: {part} is not a section")
        node[last] = yaml.safe_load(text)
    return out

"""The one strict loader of every stage's settings (prepare, propose, review, export).

A stage's settings are a dataclass that derives from :class:`StrictConfig`: its fields are typed, and every
construction checks them (``ProposeConfig(batch_size="16")`` is refused before any model loads) and runs the
class's own ``validate()`` (value ranges, templates). :func:`load_config` builds one from, in this order,

1. ``base``: a plain mapping (a preset such as ``--cpu-demo``, or a flow's parameter);
2. ``path``: a YAML or JSON file holding a mapping of the same fields (a list, a scalar or a broken file is
   refused);
3. ``sets``: ``section.key=value`` overrides, the CLIs' ``--set`` (the value is a YAML scalar: ``null`` is
   None, ``240`` an int; for a text field the text is taken as it is);
4. ``values``: ``{"section.key": value}`` already typed (the CLIs' shortcut flags such as ``--workers``).

Unknown keys are refused with a did-you-mean, wrong types name the key, what was expected and what arrived
(``setting probe.min_fps: expected float, got null``); every error is a :class:`~pipeline.errors.PipelineError`
(exit 2 in the CLIs).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import types
import typing
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, Union

from pipeline.errors import PipelineError

T = TypeVar("T")
_NULLS = {"", "~", "null", "Null", "NULL"}


class StrictConfig:
    """Base of the settings dataclasses: typed fields checked at construction, then ``validate()``."""

    __slots__ = ()

    def __post_init__(self) -> None:
        check(self)
        self.validate()

    def validate(self) -> None:
        """Value checks beyond types (ranges, templates); raise :class:`PipelineError`. Subclasses override."""

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls: type[T], d: Mapping[str, Any] | None, where: str = "") -> T:
        """Build from nested mappings; unknown keys and wrong types raise :class:`PipelineError`."""
        return from_dict(cls, d or {}, where)


class _Text(str):
    """An override's raw text: parsed once the field's type is known (so ``{id}`` in a URL stays text)."""


# ---------------------------------------------------------------------------------------------------- types
@cache
def _hints(cls: type) -> dict[str, Any]:
    """``{field: type}`` of a config dataclass (class variables left out)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _show(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(str(value) if isinstance(value, _Text) else value)
    return (text[:60] + "...") if len(text) > 60 else text


def _name(hint: Any) -> str:
    if hint is type(None):
        return "null"
    if typing.get_origin(hint) in (Union, types.UnionType):
        return " or ".join(_name(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) is not None:
        return typing.get_origin(hint).__name__
    return getattr(hint, "__name__", str(hint))


def _fail(where: str, hint: Any, value: Any) -> PipelineError:
    return PipelineError(f"setting {where}: expected {_name(hint)}, got {_show(value)}")


def _parse_text(text: _Text, hint: Any) -> Any:
    """An override's text as a value for ``hint``: null, the text itself for text fields, else a YAML scalar."""
    import yaml

    raw = str(text).strip()
    if raw in _NULLS:
        return None
    try:
        parsed = yaml.safe_load(raw)
    except yaml.YAMLError:
        parsed = raw
    accepts_str = hint is str or str in typing.get_args(hint) or hint is Path  # Any: the YAML value
    if accepts_str and not isinstance(parsed, str):
        return raw
    if isinstance(parsed, str) and (hint is float or float in typing.get_args(hint)):
        try:  # YAML 1.1 reads "1e12" as text; a number field takes it as the number it says
            return float(raw)
        except ValueError:
            pass
    return parsed


def coerce(hint: Any, value: Any, where: str) -> Any:
    """``value`` checked (and widened: int → float, text → Path) against a type hint; PipelineError if wrong."""
    if isinstance(value, _Text):
        value = _parse_text(value, hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise _fail(where, hint, value)
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(arg, value, where)
            except PipelineError:
                continue
        raise _fail(where, hint, value)
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if isinstance(value, Mapping):
            return from_dict(hint, value, where) if issubclass(hint, StrictConfig) else hint.from_dict(dict(value))
        raise _fail(where, hint, value)
    return _scalar(hint, origin, args, value, where)


def _scalar(hint: Any, origin: Any, args: tuple, value: Any, where: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return str(value)
    elif hint is Path:
        if isinstance(value, str | os.PathLike):
            return Path(value)
    elif origin is dict or hint is dict:
        if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
            val_hint = args[1] if len(args) == 2 else Any
            return {k: coerce(val_hint, v, f"{where}.{k}") for k, v in value.items()}
    elif origin in (list, tuple) or hint in (list, tuple):
        if isinstance(value, list | tuple):
            item = args[0] if args else Any
            return [coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    else:
        raise PipelineError(f"setting {where}: the loader does not know the type {hint!r}")  # a programming error
    raise _fail(where, hint, value)


def check(config: Any, where: str = "") -> None:
    """Check (and widen) every field of a config dataclass in place; PipelineError names the first wrong one."""
    for name, hint in _hints(type(config)).items():
        value = getattr(config, name)
        fixed = coerce(hint, value, f"{where}{name}")
        if fixed is not value:
            object.__setattr__(config, name, fixed)  # frozen dataclasses too


# ---------------------------------------------------------------------------------------------------- dicts
def _unknown(where: str, keys: list[str], known: list[str]) -> PipelineError:
    hints = []
    for key in keys:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hints.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    place = f"section {where.rstrip('.')!r}" if where else "settings"
    return PipelineError(f"{place}: unknown key(s) {', '.join(hints)}; expected some of {sorted(known)}")


def from_dict(cls: type[T], d: Mapping[str, Any], where: str = "") -> T:
    """Build the config dataclass ``cls`` from nested mappings; unknown keys and wrong types raise PipelineError."""
    prefix = f"{where}." if where else ""
    if not isinstance(d, Mapping):
        raise PipelineError(f"setting {where or cls.__name__}: expected a mapping of settings, got {_show(d)}")
    hints = _hints(cls)
    unknown = [k for k in d if k not in hints]
    if unknown:
        raise _unknown(prefix, [str(k) for k in unknown], list(hints))
    kwargs = {name: coerce(hints[name], value, f"{prefix}{name}") for name, value in d.items()}
    return cls(**kwargs)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value) if isinstance(value, StrictConfig) else value.to_dict()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass (nested ones included) as plain, JSON-able values."""
    return {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


# ---------------------------------------------------------------------------------------------------- loading
def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """A YAML/JSON settings file as a mapping (an empty file is ``{}``); PipelineError for anything else."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PipelineError(f"config {path}: expected a readable YAML/JSON mapping of settings ({first})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PipelineError(f"config {path}: expected a mapping of settings (key: value), got a "
                            f"{type(data).__name__}")
    return data


def _assign(d: dict[str, Any], key: str, value: Any, what: str) -> None:
    *path, last = key.strip().split(".")
    if not last or any(not p for p in path):
        raise PipelineError(f"{what}: expected section.key=value")
    node = d
    for part in path:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif isinstance(child, dict):
            child = node[part] = dict(child)  # never change the caller's nested dicts
        else:
            raise PipelineError(f"{what}: {part} is a value ({_show(child)}), not a section")
        node = child
    node[last] = value


def apply_overrides(d: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``["probe.min_short_side=240", "workers=4"]`` to a nested dict (a new dict; values stay text until
    the field's type is known, see :func:`coerce`)."""
    out = dict(d)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise PipelineError(f"override {item!r}: expected section.key=value")
        _assign(out, key, _Text(text), f"override {item!r}")
    return out


def load_config(cls: type[T], path: str | os.PathLike | None = None, sets: Sequence[str] = (),
                values: Mapping[str, Any] | None = None, base: Mapping[str, Any] | None = None) -> T:
    """The settings ``cls`` from ``base``, then the file at ``path``, then ``sets``, then ``values``.

    Args:
        cls: a :class:`StrictConfig` dataclass.
        path: YAML/JSON file of settings (a mapping of the same fields, nested by section).
        sets: ``section.key=value`` overrides (``--set``).
        values: ``{"section.key": value}`` already typed (shortcut flags; ``None`` values are skipped).
        base: a starting mapping (a preset, a flow parameter).

    Raises:
        PipelineError: unreadable file, unknown keys, wrong types, values out of range.
    """
    d = _deep_merge(dict(base or {}), read_config_file(path) if path is not None else {})
    d = apply_overrides(d, sets)
    for key, value in (values or {}).items():
        if value is not None:
            _assign(d, key, value, f"setting {key}")
    return from_dict(cls, d)


def _deep_merge(a: dict[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, Mapping) else v
    return out


def require(condition: bool, where: str, expected: str, got: Any) -> None:
    """Raise ``setting <where>: expected <expected>, got <got>`` unless ``condition`` (for ``validate()``)."""
    if not condition:
        raise PipelineError(f"setting {where}: expected {expected}, got {_show(got)}")

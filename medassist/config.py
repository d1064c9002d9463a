"""Dataclass-backed configs: YAML file + command-line overrides, like TRL's ``TrlParser``.

A config is a (possibly nested) dataclass. ``parse_config(Cls, "recipe.yaml", ["--max-steps", "5"])``
reads the YAML, applies ``--key value`` / ``--key=value`` / ``--section.key value`` overrides and
refuses unknown keys with a message that lists the valid ones, before any work starts. A
``passthrough`` field takes every top-level key of another library's own config (TRL's ``SFTConfig``)
so that library's options reach it unchanged, by their own names.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import types
import typing
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, TypeVar

import yaml

from medassist.errors import MedassistError

T = TypeVar("T")
log = logging.getLogger(__name__)

# field metadata of a secret (an API key...): ``to_dict`` writes REDACTED in its place
SECRET = {"secret": True}
REDACTED = "<redacted>"


def bounds(low: float | None = None, high: float | None = None) -> dict[str, Any]:
    """Field metadata: the value must lie in [low, high] (either end open when None), checked as
    the config is read so ``--limits.max-concurrency 0`` or ``--port 70000`` fails with the key named."""
    return {"bounds": (low, high)}


def passthrough(keys: Callable[[], Collection[str]], owner: str) -> dict[str, Any]:
    """Field metadata of a ``dict`` field that collects the top-level keys ``keys()`` names (called
    only when a key is not one of the config's own, since it may import a heavy library); ``owner``
    names them in error messages ("any option of TRL's SFTConfig")."""
    return {"passthrough": keys, "owner": owner}


def passthrough_field(cls: type) -> dataclasses.Field[Any] | None:
    return next((f for f in dataclasses.fields(cls) if "passthrough" in f.metadata), None)


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _unwrap_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


class Repeated(list):
    """A flag given more than once: every value for a list field, the last one for any other."""


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert a YAML or command-line value to the field's declared type."""
    if isinstance(value, Repeated) and typing.get_origin(_unwrap_optional(tp)) not in (list, tuple):
        value = value[-1]
    optional = type(None) in typing.get_args(tp)
    tp = _unwrap_optional(tp)
    origin = typing.get_origin(tp)
    if value is None:
        return None
    if origin is typing.Literal and value in typing.get_args(tp):
        return value  # e.g. quantization: none is a choice, not a missing value
    if isinstance(value, str) and optional and (value.lower() in ("none", "null")
                                                 or (value.lower() == "auto" and tp is bool)):
        return None  # an optional switch's None means "decide for me" (e.g. bf16: auto)
    try:
        if dataclasses.is_dataclass(tp):
            if not isinstance(value, dict):
                raise MedassistError(f"{where}: expected a mapping for section, got {value!r}")
            return _build(tp, value, where)
        if tp is bool:
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if tp in (int, float, str):
            return tp(value)
        if tp is Path:
            return Path(value)
        if origin in (list, tuple):
            (item_tp, *_) = typing.get_args(tp) or (str,)
            items = value if isinstance(value, (list, tuple)) else split_list(str(value))
            return [_coerce(v, item_tp, where) for v in items]
        if origin is dict:
            if isinstance(value, str):
                value = yaml.safe_load(value)
            if not isinstance(value, dict):
                raise ValueError(value)
            key_tp, val_tp = typing.get_args(tp) or (str, Any)
            return {k: _coerce(v, val_tp, f"{where}.{k}") for k, v in value.items()}
        if origin is typing.Literal:
            allowed = typing.get_args(tp)
            if value not in allowed:
                raise MedassistError(f"{where}: {value!r} is not one of {', '.join(map(str, allowed))}")
            return value
    except (TypeError, ValueError) as exc:
        raise MedassistError(f"{where}: cannot read {value!r} as {getattr(tp, '__name__', tp)}") from exc
    return value


def split_list(text: str) -> list[str]:
    """A command-line list: ``a,b`` is two items, but commas inside brackets, braces or quotes stay,
    so ``--vllm-extra-args=--override-generation-config={"temperature":0.6,"top_p":0.9}`` is one;
    a YAML/JSON list (``["a", "b"]``) is read as one."""
    if text.startswith("["):
        loaded = yaml.safe_load(text)
        if isinstance(loaded, list):
            return [str(v) for v in loaded]
    items, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item for item in items if item]


# A config class's ``RENAMED`` (old dotted key -> new key, or (new key, value converter)): keys read
# for one release after a rename, with a warning, so existing recipes and scripts keep running.
Renamed = dict[str, Any]  # values: str | tuple[str, Callable[[Any], Any]]


def _renamed(cls: type, values: dict[str, Any], where: str, warn: bool) -> dict[str, Any]:
    renamed: Renamed = getattr(cls, "RENAMED", {})
    values = {k: dict(v) if isinstance(v, dict) else v for k, v in values.items()}
    for old, target in renamed.items():
        new, convert = target if isinstance(target, tuple) else (target, None)
        section, _, key = old.rpartition(".")
        holder = values.get(section) if section else values
        if not isinstance(holder, dict) or key not in holder:
            continue
        value = holder.pop(key)
        if section and not holder:
            del values[section]
        if new in values:
            raise MedassistError(f"{where}: both {old} (its old name) and {new} are set; keep {new}")
        values[new] = convert(value) if convert else value
        if warn:
            log.warning("%s: %s is deprecated, use %s (the TRL/PEFT name); the old key is read until "
                        "medassist 0.3", where, old, new)
    return values


def _build(cls: type[T], values: dict[str, Any], where: str, warn: bool = True) -> T:
    values = _renamed(cls, values, where, warn)
    types_ = _field_types(cls)
    unknown = sorted(set(values) - set(types_))
    extra = passthrough_field(cls)
    also = ""
    if extra is not None:
        collected = dict(values.get(extra.name) or {})
        if unknown or collected:
            allowed = set(extra.metadata["passthrough"]())
            collected.update({k: values[k] for k in unknown if k in allowed})
            unknown += sorted(set(collected) - allowed - set(unknown))
            unknown = [k for k in unknown if k not in allowed]
            values = {**{k: v for k, v in values.items() if k in types_}, extra.name: collected}
        also = f", or {extra.metadata['owner']}"
    if unknown:
        raise MedassistError(f"{where}: unknown config key(s) {', '.join(unknown)}; valid keys: "
                             f"{', '.join(sorted(k for k in types_ if extra is None or k != extra.name))}{also}")
    kwargs = {k: _coerce(v, types_[k], f"{where}.{k}" if where else k) for k, v in values.items()}
    for f in dataclasses.fields(cls):
        low, high = f.metadata.get("bounds", (None, None))
        value = kwargs.get(f.name)
        if value is not None and ((low is not None and value < low) or (high is not None and value > high)):
            span = f">= {low}" if high is None else f"<= {high}" if low is None else f"in [{low}, {high}]"
            raise MedassistError(f"{where}.{f.name}: {value!r} is out of range; expected a number {span}")
    return cls(**kwargs)


def _overrides_to_dict(args: list[str]) -> dict[str, Any]:
    """``["--lora.r", "16", "--packing"]`` -> ``{"lora": {"r": "16"}, "packing": "true"}``; a flag given
    twice collects both values."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise MedassistError(f"unexpected argument {arg!r}: overrides look like --key value")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                value = args[i + 1]
                i += 1
            else:
                value = "true"
        node = out
        parts = key.replace("-", "_").split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts[-1] in node:  # --cors-origins a --cors-origins b is a list; --max-steps 5 --max-steps 7 is 7
            before = node[parts[-1]]
            node[parts[-1]] = Repeated([*(before if isinstance(before, Repeated) else [before]), value])
        else:
            node[parts[-1]] = value
        i += 1
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise MedassistError(f"config file not found: {path}")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise MedassistError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(values, dict):
        raise MedassistError(f"{path}: expected a mapping of config keys at the top level")
    return values


def parse_config(cls: type[T], config_path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """Build ``cls`` from defaults, then the YAML file, then ``--key value`` overrides."""
    values: dict[str, Any] = {}
    where = "config"
    if config_path:
        values = read_yaml(config_path)
        where = str(config_path)
    _build(cls, values, where, warn=False)  # report YAML mistakes against the file, before overrides
    # renamed keys are read per source, so an old-name override replaces the recipe's new-name key
    values = _merge(_renamed(cls, values, where, warn=True),
                    _renamed(cls, _overrides_to_dict(overrides or []), "command line", warn=True))
    return _build(cls, values, where if not overrides else f"{where} + command line")


def to_dict(config: Any) -> dict[str, Any]:
    """JSON-friendly dict of a config, for manifests and reports; ``SECRET`` fields read ``REDACTED``
    when set, so a run's records can be shared without the keys it ran with."""

    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            secret = {f.name for f in dataclasses.fields(value) if f.metadata.get("secret")}
            return {k: (REDACTED if v else None) if k in secret else convert(v) for k, v in fields.items()}
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        return copy.deepcopy(value)

    return convert(config)


"""Configs: frozen dataclasses, loaded from TOML and overridden from the command line.

A system declares its config as nested frozen dataclasses with defaults::

    @dataclass(frozen=True)
    class PPO:
        lr: float = 3e-4
        epochs: int = 4

    @dataclass(frozen=True)
    class TrainConfig:
        seed: int = 0
        ppo: PPO = PPO()

    cfg = load_config(TrainConfig, "train.toml", ["ppo.lr=1e-4", "seed=3"])

Every key is checked: an unknown key, a value of the wrong type or an unreadable file raises
``ConfigError`` naming the key (and the file), so a typo never silently runs the default.
Supported field types: bool, int, float, str, Path, Literal[...], tuples (``tuple[int, ...]``
or fixed ``tuple[int, float]``), ``X | None`` and nested config dataclasses.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from simlab.core.errors import ConfigError

C = TypeVar("C")

__all__ = ["ConfigError", "dump_toml", "from_dict", "load_config", "parse_override", "to_dict"]


def to_dict(cfg: Any) -> dict[str, Any]:
    """A config as nested plain dicts (tuples become lists, paths strings, None is dropped)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        if isinstance(v, Path):
            return str(v)
        return v

    out = plain(cfg)
    return _drop_none(out)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    # TOML has no null; a field left out is read back as its default (None).
    return {k: _drop_none(v) if isinstance(v, dict) else v for k, v in d.items() if v is not None}


def dump_toml(cfg: Any, path: str | Path) -> None:
    """Write a config to a TOML file that ``load_config`` reads back to an equal config."""
    import tomli_w

    Path(path).write_text(tomli_w.dumps(to_dict(cfg)))


def from_dict(cls: type[C], data: Mapping[str, Any], *, where: str = "") -> C:
    """Build config ``cls`` from nested ``data``, validating every key and value.

    ``where`` names the source (a file) in error messages.
    """
    return _build(cls, data, prefix="", where=where)


def _build(cls: type[C], data: Mapping[str, Any], prefix: str, where: str) -> C:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{_at(where)}{prefix.rstrip('.') or 'config'}: expected a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise ConfigError(
                f"{_at(where)}unknown config key '{prefix}{key}' "
                f"(valid keys: {', '.join(prefix + k for k in fields)})"
            )
        kwargs[key] = _coerce(hints[key], value, prefix + key, where)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:  # __post_init__ validation of the config itself
        raise ConfigError(f"{_at(where)}{prefix.rstrip('.') or 'config'}: {e}") from e


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def _coerce(tp: Any, value: Any, key: str, where: str) -> Any:
    """Check ``value`` against type ``tp`` and convert it (TOML list -> tuple, str -> Path)."""

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{_at(where)}config key '{key}': expected {expected}, got {value!r}")

    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key + ".", where)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, key, where)
            except ConfigError as e:
                errors.append(str(e))
        raise bad(" or ".join(getattr(o, "__name__", str(o)) for o in options))
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            raise bad("one of " + ", ".join(repr(a) for a in typing.get_args(tp)))
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise bad("a list")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{key}[{i}]", where) for i, v in enumerate(value))
        if len(args) != len(value):
            raise bad(f"a list of {len(args)} items")
        return tuple(
            _coerce(a, v, f"{key}[{i}]", where) for i, (a, v) in enumerate(zip(args, value))
        )
    if tp is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if tp is Path:
        if not isinstance(value, str | Path):
            raise bad("a path")
        return Path(value)
    if tp is Any:
        return value
    raise ConfigError(f"config key '{key}': unsupported field type {tp!r}")


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``"a.b=value"`` into (["a", "b"], value).

    The value is read as a TOML value when it parses as one (``3``, ``1e-4``, ``true``,
    ``[1, 2]``, ``"s"``) and as a bare string otherwise (``mode=fast``).
    """
    if "=" not in text:
        raise ConfigError(f"override '{text}': expected key=value, e.g. ppo.lr=3e-4")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override '{text}': empty key")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.split("."), value


def _merge(base: dict[str, Any], path: list[str], value: Any, text: str) -> None:
    node = base
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override '{text}': '{part}' is a value, not a table")
        node = child
    node[path[-1]] = value


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; a missing or malformed file raises ConfigError naming it."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path}: cannot be read ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path}: invalid TOML ({e})") from None


def load_config(
    cls: type[C],
    path: str | Path | None = None,
    overrides: Iterable[str] = (),
    *,
    base: C | None = None,
) -> C:
    """Defaults of ``cls`` (or the preset ``base``, e.g. a paper's full settings), then the TOML
    file at ``path`` (if any), then ``overrides``.

    Raises ConfigError (one line, naming the key and file) on any unknown key or bad value.
    """
    data: dict[str, Any] = to_dict(base) if base is not None else {}
    if path is not None:
        _update(data, read_toml(path))
    where = str(path) if path is not None else ""
    for text in overrides:
        keys, value = parse_override(text)
        _merge(data, keys, value, text)
        where = f"{where} + --set" if where else "--set"
    return from_dict(cls, data, where=where)


def _update(data: dict[str, Any], new: Mapping[str, Any]) -> None:
    """Recursive dict update: tables merge key by key, values replace."""
    for k, v in new.items():
        if isinstance(v, Mapping) and isinstance(data.get(k), dict):
            _update(data[k], v)
        else:
            data[k] = v


def config_json(cfg: Any) -> str:
    """A stable one-line JSON form of a config (for logs and run metadata)."""
    return json.dumps(to_dict(cfg), sort_keys=True)

"""Reading settings: defaults, then the YAML file, then environment variables.

Environment overrides use the prefix and ``__`` between levels, e.g.
``ARMADA_SERVER__GRPC_PORT=50052`` or ``ARMADA_SCHEDULING__SCHEDULE_PERIOD=2s``. Values are read
as YAML scalars, so ``true``, ``3`` and ``[a, b]`` mean what they look like.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import ValidationError

from armada.config.base import Settings

S = TypeVar("S", bound=Settings)


class ConfigError(Exception):
    """The configuration could not be read; the message names the file and the key."""


def _set_path(target: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            child = {}
            target[key] = child
        target = child
    target[path[-1]] = value


def _env_overrides(env: Mapping[str, str], prefix: str) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith(prefix) or name == prefix:
            continue
        path = [part.lower() for part in name[len(prefix) :].split("__") if part]
        if not path:
            continue
        try:
            value = yaml.safe_load(raw) if raw else raw
        except yaml.YAMLError:
            value = raw
        _set_path(overrides, path, value)
    return overrides


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _settings_type(annotation: Any) -> type[Settings] | None:
    if isinstance(annotation, type) and issubclass(annotation, Settings):
        return annotation
    return None


def _normalise(model: type[Settings], data: Any) -> Any:
    """Rename camelCase or snake_case keys to field names, recursively, so that a file in
    one style and an environment variable in the other meet at the same field. Keys that are
    data (resource names, priority class names) are left as they are."""
    if not isinstance(data, dict):
        return data
    by_key: dict[str, str] = {}
    for field_name, field in model.model_fields.items():
        by_key[field_name] = field_name
        if field.alias:
            by_key[field.alias] = field_name
            by_key[field.alias.lower()] = field_name
    result: dict[str, Any] = {}
    for key, raw in data.items():
        name = by_key.get(key, key) if isinstance(key, str) else key
        value = _normalise_value(model.model_fields.get(name), raw)
        if name in result and isinstance(result[name], dict) and isinstance(value, dict):
            value = _merge(result[name], value)
        result[name] = value
    return result


def _normalise_value(info: Any, value: Any) -> Any:
    if info is None:
        return value
    nested = _settings_type(info.annotation)
    if nested is not None:
        return _normalise(nested, value)
    args = get_args(info.annotation)
    inner = _settings_type(args[-1]) if args else None
    if inner is not None and isinstance(value, dict):
        return {k: _normalise(inner, v) for k, v in value.items()}
    return value


def _known_only(model: type[Settings], data: dict[str, Any]) -> dict[str, Any]:
    """Drop keys the model does not have. The environment is shared by every component, so
    ``ARMADA_SCHEDULER__...`` meant for the scheduler must not be an error for the server;
    a YAML file, written for one process, is still checked strictly."""
    known: dict[str, Any] = {}
    for key, value in data.items():
        info = model.model_fields.get(key)
        if info is None:
            continue
        nested = _settings_type(info.annotation)
        known[key] = _known_only(nested, value) if nested and isinstance(value, dict) else value
    return known


def load_settings(
    model: type[S],
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    prefix: str = "ARMADA_",
    overrides: Mapping[str, Any] | None = None,
) -> S:
    """Build ``model`` from its defaults, the YAML file at ``path``, ``env`` and ``overrides``."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping at the top level")
        data = _normalise(model, loaded or {})
    if env is not None:
        data = _merge(data, _known_only(model, _normalise(model, _env_overrides(env, prefix))))
    if overrides:
        data = _merge(data, _normalise(model, dict(overrides)))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where = f" in {path}" if path else ""
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<top>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration{where}: {problems}") from None

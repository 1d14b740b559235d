"""Renders the configuration reference (docs/configuration.md) from the settings models.

The page is generated so that it cannot drift from the code: a test regenerates it and fails
if the committed page differs (run ``python -m armada.config.reference > docs/configuration.md``).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from armada.config.base import Settings

INTRO = """# Configuration reference

Every process reads one YAML file (`--config FILE`), then environment variables, then its
command-line flags, each overriding the one before. Keys may be written in camelCase
(`schedulePeriod`, as Armada's) or snake_case (`schedule_period`). Environment variables use
the prefix `ARMADA_` and `__` between levels: `ARMADA_GRPC__PORT=50052`,
`ARMADA_STORAGE__SQLITE_SYNCHRONOUS=NORMAL`. Durations are written `500ms`, `30s`, `5m`, `72h`
or `1h30m`; quantities as in Kubernetes (`500m`, `64Mi`). Unknown keys are errors.

This page is generated from the settings models (`python -m armada.config.reference`).
"""


def _shown(value: Any) -> str:
    plain = _plain(value)
    if isinstance(plain, str) and plain and not isinstance(value, str):
        return f"`{plain}`"  # durations, paths
    return "`" + json.dumps(plain) + "`"


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, mode="json")
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "total_seconds"):
        from armada.config.base import format_duration

        return format_duration(value)
    return str(value) if not isinstance(value, int | float | bool | str) else value


def _rows(model: type[Settings], prefix: str, defaults: BaseModel) -> list[str]:
    """One row per setting, its default read from ``defaults`` (the section as the process
    builds it, which may differ from the section model's own defaults: the scheduler's
    ``grpc.port``, ``armada dev``'s shorter periods)."""
    rows: list[str] = []
    nested: list[tuple[str, type[Settings], BaseModel]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        annotation = field.annotation
        value = getattr(defaults, name)
        if isinstance(annotation, type) and issubclass(annotation, Settings):
            nested.append((key, annotation, value))
            continue
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {_shown(value)} | {description} |")
    for key, sub, sub_defaults in nested:
        rows.extend(_rows(sub, f"{key}.", sub_defaults))
    return rows


def render(models: dict[str, type[Settings]]) -> str:
    parts = [INTRO]
    for title, model in models.items():
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
        parts.append(f"\n## {title}\n\n{doc}\n\n| Key | Default | What it is for |\n|---|---|---|")
        parts.append("\n".join(_rows(model, "", model())))
    return "\n".join(parts) + "\n"


def all_models() -> dict[str, type[Settings]]:
    from armada.config.dev import DevSettings
    from armada.config.executor import ExecutorConfig
    from armada.config.lookout import LookoutSettings
    from armada.config.scheduler import SchedulerSettings
    from armada.config.server import ServerSettings

    return {
        "armada dev": DevSettings,
        "armada server": ServerSettings,
        "armada scheduler": SchedulerSettings,
        "armada executor": ExecutorConfig,
        "armada lookout": LookoutSettings,
    }


if __name__ == "__main__":
    print(render(all_models()), end="")

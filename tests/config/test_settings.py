"""Settings: YAML, environment and flags, every error naming the key; docs generated from them."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from armada.config import ConfigError, load_settings
from armada.config.base import Settings, parse_duration
from armada.config.dev import DevSettings
from armada.config.reference import all_models, render
from armada.config.submission import TolerationSetting

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_need_no_file() -> None:
    settings = load_settings(DevSettings)
    assert settings.grpc.port == 50051
    assert settings.submission.default_active_deadline == timedelta(hours=72)
    assert settings.storage.sqlite_synchronous == "FULL"


def test_yaml_then_env_then_overrides(tmp_path: Path) -> None:
    config = tmp_path / "armada.yaml"
    config.write_text(
        "grpc:\n  port: 6000\nscheduler:\n  schedulePeriod: 2s\n"
        "submission:\n  defaultActiveDeadline: 1h30m\n  maxClientIdLength: 10\n"
    )
    env = {
        "ARMADA_GRPC__PORT": "7000",
        "ARMADA_SUBMISSION__MAX_CLIENT_ID_LENGTH": "20",
        "UNRELATED": "x",
    }
    settings = load_settings(DevSettings, config, env=env, overrides={"clusters": 3})
    assert settings.grpc.port == 7000
    assert settings.scheduler.schedule_period == timedelta(seconds=2)
    assert settings.submission.default_active_deadline == timedelta(minutes=90)
    assert settings.submission.max_client_id_length == 20
    assert settings.clusters == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("grpc:\n  prot: 1\n", "grpc.prot"),
        ("scheduler:\n  schedulePeriod: soon\n", "not a duration"),
        ("grpc:\n  port: 70000\n", "grpc.port"),
        ("- a list\n", "mapping at the top level"),
        ("grpc: [\n", "not valid YAML"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(DevSettings, config)
    assert expected in str(err.value) and str(config) in str(err.value)


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(DevSettings, tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30),
        ("5m", 300),
        ("72h", 259200),
        ("1h30m", 5400),
        ("2", 2),
        ("1d", 86400),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "1x", "m5", "1h 30m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def settings_models_in(annotation: object) -> Iterator[type[Settings]]:
    """The settings models an annotation holds: a section, or inside list[...], dict[..., ...],
    X | None and the like."""
    if isinstance(annotation, type) and issubclass(annotation, Settings):
        yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from settings_models_in(argument)


def undocumented(model: type[Settings], path: str, seen: set[type[Settings]]) -> Iterator[str]:
    """Every field under ``model``, at any depth, with no description (a section needs none,
    its fields do), and every model without a docstring of its own."""
    if model in seen:
        return
    seen.add(model)
    if not model.__dict__.get("__doc__"):
        yield f"{path} ({model.__name__} has no docstring)"
    for name, field in model.model_fields.items():
        is_section = isinstance(field.annotation, type) and issubclass(field.annotation, Settings)
        if not field.description and not is_section:
            yield f"{path}.{name}"
        for nested in settings_models_in(field.annotation):
            yield from undocumented(nested, f"{path}.{name}", seen)


def test_every_setting_is_documented_and_the_reference_is_current() -> None:
    seen: set[type[Settings]] = set()
    missing = [
        where
        for title, model in all_models().items()
        for where in undocumented(model, title.replace("armada ", ""), seen)
    ]
    assert not missing, f"settings without a description: {missing}"
    assert TolerationSetting in seen, "models inside lists and dicts are walked too"
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == render(all_models()), (
        "docs/configuration.md is stale: python -m armada.config.reference > docs/configuration.md"
    )


def test_an_undocumented_nested_setting_is_found() -> None:
    class Inner(Settings):
        """Inner."""

        bare: int = 0

    class Outer(Settings):
        """Outer."""

        items: dict[str, list[Inner]] = Field(default_factory=dict, description="Items.")

    assert list(undocumented(Outer, "outer", set())) == ["outer.items.bare"]


def test_environment_keys_for_other_components_are_ignored() -> None:
    from armada.config.server import ServerSettings

    env = {
        "ARMADA_SCHEDULER__SCHEDULE_PERIOD": "2s",
        "ARMADA_GRPC__PORT": "6001",
        "ARMADA_CLUSTER_ID": "c9",
    }
    settings = load_settings(ServerSettings, env=env)
    assert settings.grpc.port == 6001


def documented_defaults(page: str) -> dict[str, dict[str, str]]:
    """Each section's rows of docs/configuration.md: key -> the default column."""
    sections: dict[str, dict[str, str]] = {}
    rows: dict[str, str] = {}
    for line in page.splitlines():
        if line.startswith("## "):
            rows = sections.setdefault(line[3:].strip(), {})
        elif line.startswith("| `"):
            key, default = (cell.strip() for cell in line.strip("|").split(" | ")[:2])
            rows[key.strip("`")] = default.strip("`")
    return sections


def default_at(dumped: Any, key: str) -> Any:
    for part in key.split("."):
        dumped = dumped[part]
    return dumped


def as_data(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # a duration or a path


def test_documented_defaults_are_what_each_process_starts_with() -> None:
    """Every default on docs/configuration.md is the value the process's settings hold when
    nothing is given, sections included (the scheduler listens on 50052, armada dev's
    scheduler rounds are 1s apart), not the section model's own default."""
    documented = documented_defaults((ROOT / "docs" / "configuration.md").read_text())
    wrong = []
    for title, model in all_models().items():
        built = model().model_dump(mode="json", by_alias=True)
        assert documented[title], f"no rows for {title}"
        for key, text in documented[title].items():
            if as_data(text) != default_at(built, key):
                wrong.append(f"{title}: {key} documented {text}, is {default_at(built, key)}")
    assert not wrong, "\n".join(wrong)
    assert documented["armada scheduler"]["grpc.port"] == "50052"

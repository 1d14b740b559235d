"""docs/executor.md documents every executor setting (so the reference cannot fall behind)."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic.alias_generators import to_camel

from armada.config.base import Settings
from armada.config.executor import ExecutorConfig
from armada.executor.podspec import command_line

DOC = Path(__file__).resolve().parents[2] / "docs" / "executor.md"
# Lists whose entries are described in prose in the docs rather than key by key.
DESCRIBED_INLINE = {
    "failureCategories",
    "pendingPodChecks.eventRules",
    "pendingPodChecks.containerWaitingRules",
    "fake.nodeGroups[].taints",
    "auth",  # armada server's section, in docs/security.md
}


def _element_model(annotation: object) -> type[Settings] | None:
    if isinstance(annotation, type) and issubclass(annotation, Settings):
        return annotation
    for arg in typing.get_args(annotation):
        found = _element_model(arg)
        if found is not None:
            return found
    return None


def setting_keys(model: type[Settings], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        key = prefix + to_camel(name)
        nested = _element_model(field.annotation)
        is_list = typing.get_origin(field.annotation) is list
        if nested is None or key in DESCRIBED_INLINE:
            keys.append(key)
        elif is_list:
            keys.append(key)
            keys.extend(setting_keys(nested, key + "[]."))
        else:
            keys.extend(setting_keys(nested, key + "."))
    return keys


def test_every_setting_is_in_the_reference() -> None:
    text = DOC.read_text()
    missing = [key for key in setting_keys(ExecutorConfig) if f"`{key}`" not in text]
    assert missing == []


def test_the_process_backend_is_documented_to_run_args_alone() -> None:
    """A container with args and no command runs its args (the README's sleep job does);
    only one with neither fails."""
    section = DOC.read_text().split("### `process`")[1].split("\n### ")[0]
    text = " ".join(section.split())
    assert command_line({"args": ["sleep", "10s"]}) == ["sleep", "10s"]
    assert "`args: [sleep, 10s]` alone runs `sleep 10s`" in text
    assert "a container with neither fails with `job-creation-failed`" in text
    assert "must name its command" not in text

"""Choosing queues by name, labels and cordon state, as armadactl's queue commands do.

Armada's ``get queues``, ``cordon queues``, ``cancel queues`` ... select queues client-side from
the full list: by name, by labels (``key=value``, all must match), only cordoned ones, and
``--inverse`` to take every queue that does *not* match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


def parse_labels(values: Iterable[str]) -> dict[str, str]:
    """``["a=1", "b=2"]`` -> ``{"a": "1", "b": "2"}``; anything else is a ValueError."""
    labels: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise ValueError(f"label {value!r} is not key=value")
        labels[key.strip()] = text.strip()
    return labels


@dataclass(frozen=True)
class QueueQuery:
    names: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    only_cordoned: bool = False
    inverse: bool = False

    def matches(self, queue: Any) -> bool:
        """Whether an ``api.Queue`` is selected."""
        selected = (
            (not self.names or queue.name in self.names)
            and all(queue.labels.get(k) == v for k, v in self.labels.items())
            and (not self.only_cordoned or queue.cordoned)
        )
        return selected != self.inverse

    def select(self, queues: Iterable[Any]) -> list[Any]:
        return [queue for queue in queues if self.matches(queue)]

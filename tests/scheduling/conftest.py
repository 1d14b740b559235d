"""Every world a test builds has its job database validated when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.scheduling.world import World


@pytest.fixture
def make_world() -> Iterator[Callable[..., World]]:
    worlds: list[World] = []

    def build(*args: Any, **kwargs: Any) -> World:
        world = World(*args, **kwargs)
        worlds.append(world)
        return world

    yield build
    for world in worlds:
        world.db.validate()

"""After each scenario, every scheduler service a harness made is checked: its job database and
the active runs it keeps by executor (which must equal those recomputed from the job database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.schedulerservice import harness


@pytest.fixture(autouse=True)
def _validate_services() -> Iterator[None]:
    harness.made.clear()
    yield
    made, harness.made[:] = list(harness.made), []
    for service in made:
        service.validate()

"""The queues page of a lone ``armada lookout`` whose scheduler cannot be reached, in a real
browser: the page works and says why the shares are missing (no console error)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.dev.test_processes import Processes, environment, processes
from tests.lookout.browser import ConsoleErrors, launch, record_errors, require_browser, screenshot
from tests.lookout.test_lone_lookout import start_lookout
from tests.server_process import free_port

__all__ = ["processes"]  # the fixture

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_browser()
    yield from launch()


def test_the_queues_page_says_the_scheduler_cannot_be_reached(
    browser: Browser, processes: Processes, tmp_path: Path
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    url = start_lookout(
        processes, str(tmp_path / "data"), environment(), "--scheduler-address", nowhere
    )
    context = browser.new_context(base_url=url, viewport={"width": 1366, "height": 800})
    page = context.new_page()
    errors = ConsoleErrors()
    record_errors(page, errors.messages)
    try:
        created = page.request.post("/v1/queue", data={"name": "lone", "priorityFactor": 1})
        assert created.ok, created.text()
        page.goto("/queues")
        expect(page.locator('table.queues tr[data-queue="lone"]')).to_be_visible()
        hint = page.get_by_role("status").filter(has_text="cannot be reached")
        expect(hint).to_contain_text(
            f"the scheduler at {nowhere} cannot be reached", timeout=30_000
        )
        screenshot(page, "queues-scheduler-down")
    finally:
        context.close()
    errors.check()

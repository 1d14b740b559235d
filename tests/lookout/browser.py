"""Headless Chromium for the UI's tests: Debian's package driven by Playwright for Python.

The browser is the machine's own (``/usr/bin/chromium``, installed by ``.ci/run`` when absent),
never one Playwright downloads. A page records every console error and uncaught exception, and
the tests fail on any. Screenshots go to ``test-artifacts/lookout`` (``ARMADA_TEST_ARTIFACTS``
moves them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from armada.lookout.ui_files import UI_BUILD

CHROMIUM = os.environ.get("ARMADA_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the networking flags Chromium keeps trying hosts that are closed here.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("ARMADA_TEST_ARTIFACTS", "test-artifacts")) / "lookout"


def missing_prerequisite() -> str | None:
    """Why the browser tests cannot run here, if they cannot."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not (UI_BUILD / "index.html").is_file():
        return f"the UI is not built in {UI_BUILD} (make ui)"
    return None


def require_browser() -> None:
    """Skip on a developer's machine without the browser; in CI (CI=true) fail instead."""
    problem = missing_prerequisite()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests must run in CI: {problem}")
    pytest.skip(problem)


@dataclass
class ConsoleErrors:
    """What a page wrote to its console as errors, and the exceptions it did not catch."""

    messages: list[str] = field(default_factory=list)

    def check(self) -> None:
        assert not self.messages, "errors in the browser console:\n" + "\n".join(self.messages)


def record_errors(page: Page, messages: list[str]) -> None:
    """Append to ``messages`` every console error of ``page``, every exception it does not
    catch, and every request answered with an error status."""
    page.on("console", lambda m: messages.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: messages.append(f"uncaught: {exc}"))
    # Chromium logs a failed request without its address: the address goes beside it.
    page.on(
        "response",
        lambda r: (
            messages.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None
        ),
    )


def launch() -> Iterator[Browser]:
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot of ``page`` as ``test-artifacts/lookout/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

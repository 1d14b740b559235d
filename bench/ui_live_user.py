"""The user of `bench.lookout_ui_live`: headless Chromium on the jobs page, browsing.

One round, repeated until the load ends: scroll the table; select two jobs and let two live
refreshes pass (the scroll position and the selection must stay); filter by queue, then by
state; group by job set and open a group; in the queue of long jobs, scroll, select three and
let two refreshes pass (the same three must stay checked, the table must not move); open a
job's page and go back. Every step waits on what the user would wait for, with a deadline; a
step that misses it is counted as failed and the user starts again from /jobs.

The page's own records (see lookout_ui_live.js) are drained into a `Recording` after every
step, before anything could reload the page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from tests.lookout.browser import launch, record_errors

INIT_SCRIPT = Path(__file__).with_name("lookout_ui_live.js")
STEP_MS = 15_000  # the longest a user waits for one thing


@dataclass
class Recording:
    """What the browser measured, drained from the page, and what the user checked."""

    samples: list[tuple[float, str, list[str], list[str]]] = field(default_factory=list)
    requests: list[tuple[str, float, float]] = field(default_factory=list)
    aborted: list[tuple[str, float, float]] = field(default_factory=list)  # route, when, ms
    long_tasks: list[tuple[float, float]] = field(default_factory=list)
    frames: int = 0
    frame_gaps: list[tuple[float, float]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)  # name -> durations (s)
    failed_steps: list[str] = field(default_factory=list)
    kept_place: list[str] = field(default_factory=list)  # "ok" or what moved
    rounds: int = 0

    def drain(self, page: Page) -> None:
        got: dict[str, Any] = page.evaluate("window.__benchDrain ? window.__benchDrain() : null")
        if not got:
            return
        self.samples += [(t / 1000, view, ids, states) for t, view, ids, states in got["samples"]]
        self.requests += [(r, start / 1000, ms) for r, start, ms in got["requests"]]
        self.aborted += [(r, t / 1000, ms) for r, t, ms in got["aborted"]]
        self.long_tasks += [(t / 1000, ms) for t, ms in got["longTasks"]]
        self.frames += got["frames"]
        self.frame_gaps += [(t / 1000, ms) for t, ms in got["frameGaps"]]


def rows(page: Page) -> Any:
    return page.locator("table.jobs tbody tr[data-job-id]")


def wait_for_refreshes(page: Page, count: int) -> None:
    """Until the table has had ``count`` more answers from the API (live refreshes)."""
    seen = page.evaluate("window.__benchTableAnswers")
    page.wait_for_function(
        f"window.__benchTableAnswers >= {seen + count}", timeout=STEP_MS, polling=100
    )


def scroll(page: Page) -> None:
    for _ in range(4):
        page.mouse.wheel(0, 250)
        page.wait_for_timeout(150)
    page.mouse.wheel(0, -600)
    page.wait_for_timeout(150)


def keep_place(page: Page, record: Recording, checks: int, same_rows: bool) -> None:
    """Scroll down, select ``checks`` jobs, let two refreshes pass: the scroll position and the
    selection must survive (``same_rows``: the very rows must still be there, checked). In a
    busy table the rows change under the pointer: the user ticks whatever row is at the place."""
    page.evaluate("window.scrollTo(0, 300)")
    page.wait_for_function("window.scrollY >= 300", timeout=STEP_MS)
    chosen = []
    for i in range(5, 5 + checks):
        if same_rows:
            job_id = rows(page).nth(i).get_attribute("data-job-id") or ""
            page.get_by_label(f"Select job {job_id}").check()
            chosen.append(job_id)
        else:
            rows(page).nth(i).locator("td.select input").click()
    toolbar = page.get_by_role("toolbar", name="Actions on the selected jobs")
    expect(toolbar).to_contain_text(f"{checks} selected", timeout=STEP_MS)
    before = page.evaluate("window.scrollY")
    wait_for_refreshes(page, 2)
    problems = []
    after = page.evaluate("window.scrollY")
    if after != before:
        problems.append(f"scrolled from {before} to {after}")
    if f"{checks} selected" not in toolbar.inner_text():
        problems.append(f"toolbar says {toolbar.inner_text()!r}")
    for job_id in chosen:
        box = page.get_by_label(f"Select job {job_id}")
        if box.count() != 1 or not box.is_checked():
            problems.append(f"job {job_id} no longer shown checked")
    record.kept_place.append("; ".join(problems) or "ok")
    toolbar.get_by_role("button", name="Clear selection").click()


def filter_by(page: Page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")


def filters_and_groups(page: Page, busy_queue: str) -> None:
    filter_by(page, "Queue", busy_queue)
    expect(page).to_have_url(re.compile(f"queue={busy_queue}"), timeout=STEP_MS)
    page.get_by_label("Running").check()
    expect(rows(page).first).to_have_attribute("data-state", "RUNNING", timeout=STEP_MS)
    wait_for_refreshes(page, 1)
    page.get_by_label("Running").uncheck()
    page.get_by_label("Group by").select_option("jobSet")
    group = page.locator("tr[data-group]").first
    expect(group).to_be_visible(timeout=STEP_MS)
    group.get_by_role("button").first.click()
    expect(page.locator("tr.group-jobs tr[data-job-id]").first).to_be_visible(timeout=STEP_MS)
    wait_for_refreshes(page, 2)
    page.get_by_label("Group by").select_option("")
    page.get_by_role("button", name="Clear filters").click()
    expect(page).to_have_url(re.compile(r"/jobs$"), timeout=STEP_MS)


def open_a_job(page: Page) -> None:
    rows(page).first.locator("a").first.click()
    page.wait_for_url(re.compile(r"/jobs/[^/?]+$"), timeout=STEP_MS)
    job_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", name=f"Job {job_id}")).to_be_visible(timeout=STEP_MS)
    expect(page.locator("ol.timeline li").first).to_be_visible(timeout=STEP_MS)
    page.wait_for_timeout(2500)  # reads the job's page while it refreshes
    page.go_back()
    expect(rows(page).first).to_be_visible(timeout=STEP_MS)


def steady_place(page: Page, record: Recording, steady_queue: str) -> None:
    filter_by(page, "Queue", steady_queue)
    expect(page).to_have_url(re.compile(f"queue={steady_queue}"), timeout=STEP_MS)
    expect(rows(page)).to_have_count(50, timeout=STEP_MS)
    keep_place(page, record, 3, same_rows=True)
    page.get_by_role("button", name="Clear filters").click()
    expect(page).to_have_url(re.compile(r"/jobs$"), timeout=STEP_MS)


@contextmanager
def browsing(http_url: str) -> Iterator[Page]:
    """A headless Chromium page on the UI, with the benchmark's recorder loaded."""
    browsers = launch()
    browser = next(browsers)
    try:
        context = browser.new_context(base_url=http_url, viewport={"width": 1366, "height": 800})
        context.add_init_script(path=str(INIT_SCRIPT))
        yield context.new_page()
        context.close()
    finally:
        browsers.close()


def browse(page: Page, record: Recording, until: float, busy_queue: str, steady_queue: str) -> None:
    """The user's rounds until the wall clock passes ``until``."""
    record_errors(page, record.console_errors)
    steps: list[tuple[str, Callable[[], None]]] = [
        ("scroll", lambda: scroll(page)),
        ("keep place", lambda: keep_place(page, record, 2, same_rows=False)),
        ("filter and group", lambda: filters_and_groups(page, busy_queue)),
        ("keep place (long jobs)", lambda: steady_place(page, record, steady_queue)),
        ("open a job and back", lambda: open_a_job(page)),
    ]
    page.goto("/jobs")
    expect(rows(page).first).to_be_visible(timeout=STEP_MS)
    while time.time() < until:
        for name, step in steps:
            if time.time() >= until:
                break
            started = time.perf_counter()
            try:
                step()
                record.steps.setdefault(name, []).append(time.perf_counter() - started)
            except (AssertionError, PlaywrightError) as exc:
                record.failed_steps.append(f"{name}: {str(exc).splitlines()[0]}")
                record.drain(page)
                page.goto("/jobs")
            record.drain(page)
        record.rounds += 1
    record.drain(page)

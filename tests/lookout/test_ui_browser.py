"""The web UI in a real browser (headless Chromium) on a running ``armada dev``.

Jobs are submitted with Armada's own client; everything else is done the way a user would, in
the UI: watch them move through their states, filter, group, open a job and read its events
and its log, cancel a job, open the queues page. Each main page is saved as a screenshot
(test-artifacts/lookout/), and any error in the browser's console fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.client import ArmadaClient
from playwright.sync_api import Browser, Locator, Page, expect

from armada.dev.embedded import EmbeddedArmada
from tests.api_builders import container, create_queue, item, pod_spec
from tests.conftest import dev_settings
from tests.lookout.browser import (
    ConsoleErrors,
    launch,
    record_errors,
    require_browser,
    screenshot,
)

pytestmark = pytest.mark.slow

WAIT_MS = 30_000  # every expectation below waits on its condition for at most this long
IN_DIALOG = "document.querySelector('[role=dialog]').contains(document.activeElement)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_browser()
    yield from launch()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[EmbeddedArmada]:
    """An ``armada dev`` with one simulated cluster, so that jobs run."""
    with EmbeddedArmada(dev_settings(tmp_path / "data", clusters=1)) as armada:
        yield armada


@pytest.fixture
def client(running: EmbeddedArmada) -> Iterator[ArmadaClient]:
    with grpc.insecure_channel(running.address) as channel:
        yield ArmadaClient(channel)


@pytest.fixture
def page(browser: Browser, running: EmbeddedArmada) -> Iterator[Page]:
    context = browser.new_context(
        base_url=running.http_url, viewport={"width": 1366, "height": 800}
    )
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    errors = ConsoleErrors()
    record_errors(tab, errors.messages)
    yield tab
    context.close()
    errors.check()


def submit(
    client: ArmadaClient, queue: str, job_set: str, *args: str, count: int = 1, **annotations: str
) -> list[str]:
    items = [item(pod_spec(container(args=args)), annotations=annotations) for _ in range(count)]
    response = client.submit_jobs(queue=queue, job_set_id=job_set, job_request_items=items)
    return [r.job_id for r in response.job_response_items]


def row(page: Page, job_id: str) -> Locator:
    return page.locator(f'tr[data-job-id="{job_id}"]')


def test_jobs_move_through_states_filter_and_group(page: Page, client: ArmadaClient) -> None:
    create_queue(client, "ui-a")
    create_queue(client, "ui-b")
    short = submit(client, "ui-a", "nightly", "sleep", "3", team="vision")
    long = submit(client, "ui-b", "training", "sleep", "600", count=2, team="speech")

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/jobs$"))
    expect(row(page, short[0])).to_be_visible()
    # The table refreshes by itself: the short job is seen running, then succeeded.
    expect(row(page, short[0])).to_have_attribute("data-state", "RUNNING")
    expect(row(page, short[0])).to_have_attribute("data-state", "SUCCEEDED")
    for job_id in long:
        expect(row(page, job_id)).to_have_attribute("data-state", "RUNNING")
    screenshot(page, "jobs")

    # Filter by queue: typed, kept in the URL, and only that queue's jobs are left.
    page.get_by_label("Queue", exact=True).fill("ui-b")
    page.get_by_label("Queue", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"queue=ui-b"))
    expect(page.locator("table.jobs tbody tr")).to_have_count(2)
    expect(row(page, short[0])).to_have_count(0)

    # Filter by state as well, then by annotation; the URL reloads to the same view.
    page.get_by_label("Succeeded").check()
    expect(page.locator("table.jobs td.empty")).to_have_text("No jobs match.")
    page.get_by_label("Succeeded").uncheck()
    page.get_by_label("Running").check()
    expect(page.locator("table.jobs tbody tr")).to_have_count(2)
    page.reload()
    expect(page.get_by_label("Queue", exact=True)).to_have_value("ui-b")
    expect(page.get_by_label("Running")).to_be_checked()
    expect(page.locator("table.jobs tbody tr")).to_have_count(2)

    # Group every job by queue: one row a queue, with its counts per state.
    page.get_by_role("button", name="Clear filters").click()
    page.get_by_label("Group by").select_option("queue")
    expect(page).to_have_url(re.compile(r"groupBy=queue"))
    group_a = page.locator('tr[data-group="ui-a"]')
    group_b = page.locator('tr[data-group="ui-b"]')
    expect(group_a).to_contain_text("Succeeded 1")
    expect(group_b).to_contain_text("Running 2")
    group_b.get_by_role("button").click()
    expect(page.locator("tr.group-jobs table.jobs tbody tr")).to_have_count(2)
    screenshot(page, "jobs-grouped")

    # Group by an annotation, named in a field beside the choice.
    page.get_by_label("Group by").select_option("annotation")
    page.get_by_label("Annotation key").fill("team")
    page.get_by_label("Annotation key").press("Enter")
    expect(page).to_have_url(re.compile(r"groupBy=ann.team"))
    expect(page.locator('tr[data-group="vision"]')).to_contain_text("Succeeded 1")
    expect(page.locator('tr[data-group="speech"]')).to_contain_text("Running 2")


def test_job_page_shows_runs_events_and_log_and_cancels_the_job(
    page: Page, client: ArmadaClient
) -> None:
    create_queue(client, "ui-c")
    [job_id] = submit(client, "ui-c", "interactive", "sleep", "600")

    page.goto("/jobs?queue=ui-c")
    expect(row(page, job_id)).to_have_attribute("data-state", "RUNNING")
    row(page, job_id).get_by_role("link", name=job_id).click()
    expect(page).to_have_url(re.compile(f"/jobs/{job_id}$"))
    expect(page.get_by_role("heading", name=f"Job {job_id}")).to_be_visible()
    details = page.locator("dl.fields")
    expect(details).to_contain_text("ui-c")
    expect(details).to_contain_text("interactive")
    runs = page.locator("table.runs tbody tr")
    expect(runs).to_have_count(1)
    expect(runs).to_contain_text("Running")
    timeline = page.locator("ol.timeline")
    # The job's history as the log tells it: what happened, who did it and why.
    expect(timeline.locator('li[data-event="SubmitJob"]')).to_contain_text("by anonymous")
    expect(timeline.locator('li[data-event="JobRunRunning"]')).to_contain_text("cluster-1")
    expect(page.get_by_label("Container log")).not_to_have_text("(empty)")
    screenshot(page, "job")

    # An action on the whole job set first counts what it will touch; Back leaves it. The
    # dialog keeps the keyboard (Tab goes round its controls, never to the page behind) and
    # gives focus back to the button that opened it.
    opener = page.get_by_role("button", name="Preempt job set…")
    opener.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Preempt 1 running job of job set interactive?")
    expect(dialog.get_by_label("Reason (optional)")).to_be_focused()
    for key in ["Tab"] * 4 + ["Shift+Tab"] * 4:
        page.keyboard.press(key)
        assert page.evaluate(IN_DIALOG), f"{key} took focus out of the dialog"
    dialog.get_by_role("button", name="Back").click()
    expect(dialog).to_have_count(0)
    expect(opener).to_be_focused()

    page.get_by_role("button", name="Cancel job…").click()
    expect(dialog).to_contain_text("Cancel 1 job?")
    dialog.get_by_label("Reason (optional)").fill("not needed")
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(dialog).to_contain_text("Done: 1 job.")
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator(".page-head .chip")).to_have_text("Cancelled")
    expect(timeline.locator('li[data-event="CancelJob"]')).to_contain_text("not needed")
    expect(timeline.locator('li[data-event="CancelledJob"]')).to_have_count(1)
    screenshot(page, "job-cancelled")


def test_cancel_a_selection_from_the_jobs_table(page: Page, client: ArmadaClient) -> None:
    create_queue(client, "ui-d")
    jobs = submit(client, "ui-d", "batch", "sleep", "600", count=3)

    page.goto("/jobs?queue=ui-d")
    for job_id in jobs:
        expect(row(page, job_id)).to_be_visible()
    for job_id in jobs[:2]:
        page.get_by_label(f"Select job {job_id}").check()
    expect(page.get_by_role("toolbar", name="Actions on the selected jobs")).to_contain_text(
        "2 selected"
    )
    # A refresh keeps the selection.
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_label(f"Select job {jobs[0]}")).to_be_checked()
    page.get_by_role("button", name="Cancel…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Cancel 2 jobs?")
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(dialog).to_contain_text("Done: 2 jobs.")
    page.keyboard.press("Escape")
    for job_id in jobs[:2]:
        expect(row(page, job_id)).to_have_attribute("data-state", "CANCELLED")
    expect(row(page, jobs[2])).not_to_have_attribute("data-state", "CANCELLED")

    # Reprioritise the one left, from the keyboard once the dialog is open.
    page.get_by_label(f"Select job {jobs[2]}").check()
    page.get_by_role("button", name="Reprioritise…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Reprioritise 1 job?")
    expect(dialog.get_by_label("New priority")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("7")
    page.keyboard.press("Enter")
    expect(dialog).to_contain_text("Done: 1 job.")
    page.keyboard.press("Escape")
    expect(row(page, jobs[2]).locator("td.num").first).to_have_text("7")


def test_queues_page_and_a_queued_jobs_scheduling_report(page: Page, client: ArmadaClient) -> None:
    create_queue(client, "ui-e")
    submit(client, "ui-e", "batch", "sleep", "600", count=2)
    # Four nodes of 32 CPUs hold four 31-CPU jobs: the fifth waits, and its page says why.
    big = item(pod_spec(container(args=("sleep", "600"), requests={"cpu": "31", "memory": "1Gi"})))
    client.submit_jobs(queue="ui-e", job_set_id="big", job_request_items=[big] * 5)

    page.goto("/queues")
    queue = page.locator('table.queues tr[data-queue="ui-e"]')
    expect(queue).to_contain_text("Running 6")
    expect(queue).to_contain_text("Queued 1")
    expect(queue).to_contain_text("default")  # the pool, with its figures
    expect(queue.locator("td.num").nth(1)).to_have_text(re.compile(r"%$"))
    expect(page.locator("svg.chart polyline")).to_have_count(1)
    expect(page.locator("details.queue-report", has_text="ui-e")).to_contain_text("fair share")
    screenshot(page, "queues")

    page.get_by_role("link", name="ui-e").click()
    expect(page).to_have_url(re.compile(r"/jobs\?queue=ui-e&groupBy=jobSet"))
    expect(page.locator('tr[data-group="big"]')).to_contain_text("Queued 1")

    page.goto("/jobs?queue=ui-e&jobSet=big&state=QUEUED")
    expect(page.locator("table.jobs tbody tr")).to_have_count(1)
    queued = page.locator("table.jobs tbody tr").get_attribute("data-job-id") or ""
    page.goto(f"/jobs/{queued}")
    report = page.locator("section", has=page.get_by_role("heading", name="Why is it not running?"))
    expect(report.locator("pre.report")).to_contain_text("not scheduled")
    screenshot(page, "job-queued")


def test_live_refresh_keeps_the_scroll_position_and_pages_go_on(
    page: Page, client: ArmadaClient
) -> None:
    create_queue(client, "ui-g")
    jobs = submit(client, "ui-g", "many", "sleep", "600", count=60)

    page.goto("/jobs?queue=ui-g")
    expect(page.locator("table.jobs tbody tr")).to_have_count(50)
    page.mouse.wheel(0, 600)
    page.wait_for_function("window.scrollY > 0")
    scrolled = page.evaluate("window.scrollY")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/jobs")):
        pass  # the next live refresh
    expect(page.locator("table.jobs tbody tr")).to_have_count(50)
    assert page.evaluate("window.scrollY") == scrolled

    page.get_by_role("button", name="Next →").click()
    expect(page).to_have_url(re.compile(r"page=1"))
    expect(page.locator("table.jobs tbody tr")).to_have_count(10)

    # One job by its id.
    page.get_by_label("Job ID").fill(jobs[0])
    page.get_by_label("Job ID").press("Enter")
    expect(page.locator("table.jobs tbody tr")).to_have_count(1)
    expect(row(page, jobs[0])).to_be_visible()


def test_a_refresh_that_replaces_every_row_keeps_the_place_and_the_selection(
    page: Page, client: ArmadaClient
) -> None:
    """A busy queue: by the next refresh, newer jobs fill the whole page. The page must not
    move (Chromium's scroll anchoring would follow the ticked row's removal), the ticked job
    stays selected though it is no longer shown, and the keyboard stays where it was."""
    create_queue(client, "ui-i")
    submit(client, "ui-i", "older", "sleep", "600", count=50)

    page.goto("/jobs?queue=ui-i")
    expect(page.locator("table.jobs tbody tr")).to_have_count(50)
    page.mouse.wheel(0, 600)
    page.wait_for_function("window.scrollY > 0")
    ticked = page.locator("table.jobs tbody tr").nth(20).get_attribute("data-job-id") or ""
    page.get_by_label(f"Select job {ticked}").check()
    scrolled = page.evaluate("window.scrollY")

    newer = submit(client, "ui-i", "newer", "sleep", "600", count=50)
    expect(row(page, newer[0])).to_be_visible()
    expect(row(page, ticked)).to_have_count(0)
    assert page.evaluate("window.scrollY") == scrolled
    # The focus was on the ticked job's check box: it is on the check box now in that place.
    in_place = page.locator("table.jobs tbody tr").nth(20).locator("td.select input")
    expect(in_place).to_be_focused()
    toolbar = page.get_by_role("toolbar", name="Actions on the selected jobs")
    expect(toolbar).to_contain_text("1 selected")


SLOW_JOBS_API = """
const fetchNow = window.fetch
window.fetch = (input, init) => {
  const url = typeof input === "string" ? input : input.url
  if (!url.endsWith("/api/v1/jobs")) return fetchNow(input, init)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fetchNow(input, init).then(resolve, reject), 2500)
    init?.signal?.addEventListener("abort", () => {
      clearTimeout(timer)
      reject(new DOMException("The request was aborted", "AbortError"))
    })
  })
}
"""


def test_a_refresh_slower_than_the_refresh_interval_still_lands(
    page: Page, client: ArmadaClient
) -> None:
    """Every answer of the jobs API takes 2.5 s, longer than the 2 s between refreshes: live
    refresh waits for it rather than dropping it for the next one, so the table fills and
    follows the job."""
    create_queue(client, "ui-h")
    [job_id] = submit(client, "ui-h", "slow", "sleep", "3")
    page.add_init_script(SLOW_JOBS_API)

    page.goto("/jobs?queue=ui-h")
    expect(row(page, job_id)).to_be_visible()
    expect(row(page, job_id)).to_have_attribute("data-state", "SUCCEEDED")

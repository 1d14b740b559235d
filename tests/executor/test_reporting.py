"""The event reporter: batches in order, retries failures with backoff, drops nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from armada.domain import events as ev
from armada.executor.instructions import ReportEvent
from armada.executor.reporting import Backoff, EventReporter
from armada.rpc.gen import executorapi_pb2 as pb


class Receiver:
    """Stands in for ReportEvents: fails the first ``failures`` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.batches: list[list[str]] = []
        self.calls = 0

    async def __call__(self, events: Sequence[pb.RunEvent]) -> None:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("scheduler unavailable")
        self.batches.append([e.run_id for e in events])


def report(run_id: str, final: bool = False) -> ReportEvent:
    event = (
        ev.JobRunCancelled(job_id="j", run_id=run_id)
        if final
        else ev.JobRunAssigned(job_id="j", run_id=run_id)
    )
    return ReportEvent(event, 1.0, final)


def reporter(receiver: Receiver, delivered: list[str], **overrides: object) -> EventReporter:
    values: dict[str, object] = {
        "batch_size": 3,
        "flush_interval": 0.001,
        "buffer_limit": 100,
        "backoff": Backoff(0.001, 0.004),
    }
    values.update(overrides)
    return EventReporter(receiver, on_delivered=delivered.extend, **values)  # type: ignore[arg-type]


async def drain(r: EventReporter) -> None:
    task = asyncio.create_task(r.run())
    r.finish()
    await asyncio.wait_for(task, 5)


def test_backoff_doubles_up_to_its_cap_and_resets() -> None:
    backoff = Backoff(0.1, 0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next() == 0.1


async def test_events_go_in_order_in_batches_and_finals_are_acknowledged() -> None:
    receiver, delivered = Receiver(), []
    r = reporter(receiver, delivered)
    for index in range(7):
        r.add(report(f"r{index}", final=index % 2 == 0))
    await drain(r)
    assert receiver.batches == [["r0", "r1", "r2"], ["r3", "r4", "r5"], ["r6"]]
    assert delivered == ["r0", "r2", "r4", "r6"]
    assert r.backlog == 0 and r.sent == 7


async def test_failed_calls_are_retried_with_the_same_events() -> None:
    receiver, delivered = Receiver(failures=4), []
    r = reporter(receiver, delivered)
    for index in range(4):
        r.add(report(f"r{index}"))
    await drain(r)
    assert receiver.calls == 6 and r.failures == 4
    assert receiver.batches == [["r0", "r1", "r2"], ["r3"]]


async def test_a_backlog_over_the_limit_is_flagged_but_nothing_is_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver, delivered = Receiver(), []
    r = reporter(receiver, delivered, buffer_limit=2, batch_size=10)
    for index in range(5):
        r.add(report(f"r{index}"))
    assert r.over_limit and r.backlog == 5
    assert "no new leases" in caplog.text and "none is dropped" in caplog.text
    await drain(r)
    assert not r.over_limit
    assert receiver.batches == [["r0", "r1", "r2", "r3", "r4"]]

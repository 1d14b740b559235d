"""The one-worker-thread convention, held by the types: once a runtime's worker has started,
the service's entry points refuse calls from any other thread; before, the thread that made
the service owns it (tests and benchmarks drive it directly)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from armada.schedulerservice.runtime import SchedulerRuntime
from armada.schedulerservice.worker import OwnerThread
from tests.schedulerservice.harness import harness, run_report


def test_once_the_worker_runs_only_its_thread_may_touch_the_state() -> None:
    h = harness()
    h.create_queue()
    h.submit("j1")
    h.service.tick()  # the making thread owns it until a worker starts
    runtime = SchedulerRuntime(h.service)
    try:
        names = asyncio.run(runtime.call(lambda: threading.current_thread().name))
        assert names.startswith("scheduler")
        assert asyncio.run(runtime.call(h.service.tick)) is None  # from the worker: fine
        for call in (
            h.service.tick,
            h.service.ingest,
            h.service.schedule_round,
            lambda: h.service.handle_reports(
                "cluster-1", [run_report("cancelled", job_id="j1", run_id="r")]
            ),
            lambda: h.service.submit_check_pending("j1"),
        ):
            with pytest.raises(AssertionError, match="owned by thread 'scheduler"):
                call()
        h.service.validate()  # safe from any thread
    finally:
        runtime.close()


def test_another_thread_is_refused_before_any_worker() -> None:
    owner = OwnerThread()
    failures: list[BaseException] = []

    def elsewhere() -> None:
        try:
            owner.check()
        except AssertionError as exc:
            failures.append(exc)

    thread = threading.Thread(target=elsewhere, name="intruder")
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert [str(f) for f in failures] == [
        f"the scheduler's state is owned by thread {threading.current_thread().name!r}, "
        "not 'intruder'"
    ]
    owner.check()

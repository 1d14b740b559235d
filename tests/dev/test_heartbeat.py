"""Issue 14.2: an executor of a lightly loaded `armada dev` was declared silent for over 30 s.

The scheduler did all its work, hearing executors included, on its one worker thread: a
LeaseRequest counted as heard only once the worker got to it. Anything that held the worker
(an append waiting on the store's write lock, which another process may hold for up to
SQLite's 30 s busy timeout; a long round) made live executors look silent, and the lease
expiry that ran next on the same worker could take their runs away. And a blocking call on
the loop itself (in `armada dev` every component shares it) silenced every executor at once,
which was held against them as soon as the loop was free.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from armada.dev.loop_watch import watch_loop
from armada.rpc.gen import executorapi_pb2 as pb
from armada.schedulerservice.executor_api import _newest
from armada.waiting import wait_until
from tests.api_builders import create_queue, event_types, events
from tests.dev.test_end_to_end import FAST, finished, kinds, running_dev, sleep_job

HOLD = 3.0  # seconds another connection holds the store's write lock
# The executors beat every 200 ms. Hearing them must not wait for the store: held behind it,
# the gap would be HOLD (3 s), past TIMEOUT, and their runs would be lost. On a loaded machine
# (two test suites and a CPU burner on two cores) a gap of a second was seen with nothing held
# but the CPU, so the bound and the staleness leave room for that.
STALE, TIMEOUT = 1.5, 2.5


@contextmanager
def impatient_dev(tmp_path: Path) -> Iterator[tuple[EmbeddedArmada, ArmadaClient]]:
    """`armada dev` whose executors lose their runs after TIMEOUT s of silence, with a queue."""
    scheduler = {
        **FAST["scheduler"],
        "executor_timeout": f"{TIMEOUT}s",
        "executor_stale_after": f"{STALE}s",
    }
    with (
        running_dev(tmp_path, clusters=1, nodes_per_cluster=4, scheduler=scheduler) as armada,
        grpc.insecure_channel(armada.address) as channel,
    ):
        client = ArmadaClient(channel)
        create_queue(client)
        yield armada, client


def test_heartbeats_are_heard_while_the_scheduler_waits_for_the_store(tmp_path: Path) -> None:
    with impatient_dev(tmp_path) as (armada, client):
        jobs = [sleep_job("300ms") for _ in range(300)]
        ids = [r.job_id for r in client.submit_jobs("queue-a", "s", jobs).job_response_items]
        service = armada.system.scheduler.service  # type: ignore[union-attr]
        wait_until(lambda: service.executors.get("cluster-1"), what="the executor")
        wait_until(
            lambda: client.get_job_status(ids[:50]).job_states[ids[0]] >= 3, what="jobs running"
        )
        # Another process (a view rebuild, a backup, a second scheduler...) writes the store.
        blocker = sqlite3.connect(armada.settings.storage.database_path, timeout=10)
        blocker.execute("BEGIN IMMEDIATE")
        longest = 0.0
        try:
            until = time.monotonic() + HOLD
            while time.monotonic() < until:
                state = service.executors.get("cluster-1")
                if state is not None:
                    longest = max(longest, service.monotonic() - state.last_seen)
                time.sleep(0.02)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert longest < STALE, f"the executor went unheard for {longest:.2f}s"
        wait_until(
            lambda: all(s == 3 for s in client.get_job_status(ids).job_states.values()),
            timeout=60,
            what="every job to succeed",
        )
        expired = [
            k for _, k in event_types(events(client, "queue-a", "s")) if k == "lease_expired"
        ]
        assert not expired


def test_the_loop_watch_says_when_the_loop_was_held(caplog: pytest.LogCaptureFixture) -> None:
    async def hold_the_loop() -> None:
        watch = asyncio.create_task(watch_loop(interval=0.05, threshold=0.2))
        await asyncio.sleep(0.01)
        time.sleep(0.4)  # a blocking call on the loop: what the watch exists to report
        await asyncio.sleep(0.1)
        watch.cancel()

    with caplog.at_level(logging.WARNING, logger="armada.dev.loop_watch"):
        asyncio.run(hold_the_loop())
    assert any("the event loop was held for" in r.getMessage() for r in caplog.records)


def test_requests_that_waited_for_the_worker_are_answered_once_from_the_newest() -> None:
    async def drain() -> tuple[pb.LeaseRequest | None, pb.LeaseRequest | None]:
        waiting: asyncio.Queue[pb.LeaseRequest | None] = asyncio.Queue()
        for n in (2, 3):
            waiting.put_nowait(pb.LeaseRequest(executor_id="c", max_jobs_to_lease=n))
        waiting.put_nowait(None)  # then the stream closed
        first = _newest(pb.LeaseRequest(executor_id="c", max_jobs_to_lease=1), waiting)
        return first, waiting.get_nowait()

    newest, after = asyncio.run(drain())
    assert newest is not None and newest.max_jobs_to_lease == 3
    assert after is None  # the end of the stream is still seen


def test_a_held_loop_is_not_the_executors_silence(tmp_path: Path) -> None:
    """Whatever holds the loop (a blocking call) also keeps the scheduler from hearing its
    executors: when the loop is free again their silence must not be held against them."""
    with impatient_dev(tmp_path) as (armada, client):
        ids = [
            r.job_id
            for r in client.submit_jobs("queue-a", "s", [sleep_job("5s")]).job_response_items
        ]
        wait_until(lambda: "running" in kinds(client, "s", ids[0]), what="the job to run")
        held = threading.Event()

        def hold() -> None:
            held.set()
            time.sleep(HOLD)  # a blocking call on the loop: what this test is about

        armada.system_loop.call_soon_threadsafe(hold)
        assert held.wait(5)
        wait_until(lambda: finished(client, "s", ids[0]), timeout=30, what="the job to end")
        assert "lease_expired" not in kinds(client, "s", ids[0])
        assert finished(client, "s", ids[0])[-1] == "succeeded"

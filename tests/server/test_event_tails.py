"""Watchers share their job set's tail: they resume from any message through it, a watcher
that falls behind its ring reads the log by itself and rejoins it, and batches stay bounded."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.armada import event_pb2
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from armada.domain.events import LogEntry
from armada.eventlog.memory import MemoryEventLog
from armada.rpc.gen import event_batches_pb2 as batch_pb
from armada.rpc.gen import event_batches_pb2_grpc as batch_grpc
from armada.server.event_pages import COMPLETE, START, batches, convert, unframe
from armada.server.event_tail import StreamRequest, Tails, TailSettings
from armada.server.event_tail import watch as watch_stream
from armada.waiting import wait_until_async
from tests.api_builders import create_queue, events, item
from tests.builders import sequence, submit
from tests.conftest import dev_settings

TAIL_BYTES = 4000  # a few events: watchers fall behind the ring at once


@pytest.fixture
def small_ring(tmp_path: Path) -> Iterator[ArmadaClient]:
    settings = dev_settings(tmp_path / "data", events={"tail_bytes": TAIL_BYTES})
    with EmbeddedArmada(settings) as armada, grpc.insecure_channel(armada.address) as ch:
        client = ArmadaClient(ch)
        create_queue(client)
        yield client


def watch(client: ArmadaClient, from_id: str = "") -> Iterator[event_pb2.EventStreamMessage]:
    request = event_pb2.JobSetRequest(queue="queue-a", id="s", from_message_id=from_id, watch=True)
    return client.event_stub.GetJobSetEvents(request)  # type: ignore[no-any-return]


def test_a_watch_resumes_from_any_message(small_ring: ArmadaClient) -> None:
    client = small_ring
    ids = [r.job_id for r in client.submit_jobs("queue-a", "s", [item()] * 3).job_response_items]
    client.cancel_jobs("queue-a", "s", ids[2])
    everything = events(client, "queue-a", "s")
    assert len(everything) == 8
    for i, message in enumerate(everything):
        stream = watch(client, message.id)
        rest = list(itertools.islice(stream, len(everything) - i - 1))
        stream.cancel()
        assert rest == everything[i + 1 :]


def test_a_watcher_behind_the_ring_reads_the_log_and_rejoins(small_ring: ArmadaClient) -> None:
    client = small_ring
    client.submit_jobs("queue-a", "s", [item()])
    slow = watch(client)
    assert next(slow).message.WhichOneof("events") == "submitted"  # then it stops reading
    keen = watch(client)
    for _ in range(20):  # far more than the ring holds
        client.submit_jobs("queue-a", "s", [item()] * 5)
    everything = events(client, "queue-a", "s")
    assert len(everything) == 2 * 101
    assert list(itertools.islice(keen, len(everything))) == everything
    assert list(itertools.islice(slow, len(everything) - 1)) == everything[1:]
    client.submit_jobs("queue-a", "s", [item()])  # both are back at the tail
    new = events(client, "queue-a", "s")[-2:]
    assert list(itertools.islice(keen, 2)) == new
    assert list(itertools.islice(slow, 2)) == new
    keen.cancel()
    slow.cancel()


def test_batches_are_bounded_by_count_and_cover_everything(tmp_path: Path) -> None:
    settings = dev_settings(tmp_path / "data", events={"tail_bytes": TAIL_BYTES})
    with EmbeddedArmada(settings) as armada, grpc.insecure_channel(armada.address) as ch:
        check_batches(ArmadaClient(ch), ch)


def check_batches(client: ArmadaClient, channel: grpc.Channel) -> None:
    create_queue(client)
    client.submit_jobs("queue-a", "s", [item()] * 10)
    everything = events(client, "queue-a", "s")
    stub = batch_grpc.EventBatchesStub(channel)
    request = batch_pb.JobSetBatchRequest(queue="queue-a", id="s", watch=True, max_batch=3)
    stream = stub.GetJobSetEventBatches(request)
    got: list[event_pb2.EventStreamMessage] = []
    for batch in stream:
        assert 1 <= len(batch.messages) <= 3
        got.extend(event_pb2.EventStreamMessage.FromString(m) for m in batch.messages)
        if len(got) >= len(everything):
            break
    stream.cancel()
    assert got == everything


def test_batches_are_bounded_in_bytes_and_split_an_entry_where_needed() -> None:
    four_jobs = sequence(*(submit(f"job-{i}") for i in range(4)))
    entry = convert(LogEntry(offset=7, sequence=four_jobs))
    assert len(entry.messages) == 8
    size = len(entry.messages[0])
    got = list(batches([entry], (0, COMPLETE), 100, 2 * size))
    assert all(1 <= len(b.messages) <= 3 for b, _ in got)
    assert [m for b, _ in got for m in b.messages] == entry.messages
    assert got[-1][1] == (7, COMPLETE)
    resumed = [(b.messages, pos) for b, pos in batches([entry], (7, 4), 100, 10**6)]
    assert resumed == [(entry.messages[5:], (7, COMPLETE))]
    assert event_pb2.EventStreamMessage.FromString(unframe(entry.messages[5])).id == "7:5"


async def test_a_tail_behind_the_log_reads_on_without_waiting_its_interval() -> None:
    """The tail interval gathers what comes next into one batch once the tail has caught up;
    it must not pause between the pages of a backlog, or the tail reads at most a page an
    interval and falls further behind whenever the job set grows faster than that (1,000
    jobs/s of 100-job submissions did). Here 20 submissions of 100 jobs land at once; with a
    60 s interval a watcher still gets all 4,000 events long before a second interval."""
    log = MemoryEventLog()
    settings = TailSettings(ring_bytes=2**26, read_batch=500, poll_interval=60, interval=60)
    tails = Tails(log, settings)
    stream = watch_stream(tails, StreamRequest("queue-a", "set-1", START, 10_000, 2**30))
    got = 0

    async def receive() -> None:
        nonlocal got
        async for batch in stream:
            got += len(batch.messages)

    receiving = asyncio.create_task(receive())

    def started() -> bool:
        tail = tails.get("queue-a", "set-1")
        return tail is not None and tail.base is not None

    await wait_until_async(started, 10, "the tail has read the log's head")
    jobs = [[submit(f"job-{n}-{i}") for i in range(100)] for n in range(20)]
    log.append([sequence(*batch) for batch in jobs])
    try:
        await wait_until_async(lambda: got == 4000, 30, "every event, within one interval")
    finally:
        receiving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiving
        await stream.aclose()

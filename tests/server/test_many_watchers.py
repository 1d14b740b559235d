"""Many watchers of one job set on a real `armada server`, through real gRPC: every reading
watcher gets every event, watchers that do not read cost a bounded buffer, and the server's
memory stays bounded while they watch and comes back when they leave."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.armada import event_pb2, event_pb2_grpc
from armada_client.client import ArmadaClient

from armada.rpc.gen import event_batches_pb2 as batch_pb
from armada.rpc.gen import event_batches_pb2_grpc as batch_grpc
from tests.api_builders import create_queue, events, item
from tests.server_process import ServerProcess, rss_bytes

JOBS = 5_000
PER_SUBMISSION = 100
BATCHED_READERS = 150
SINGLE_READERS = 2  # api.Event, one gRPC message per event
STALLED = 48  # open a stream and never read it, or read one batch and stop
MiB = 2**20
# What the 200 watchers may add to the idle server at any time, and keep after they leave.
# Before the shared tails each stalled watcher held the whole job set, decoded: > 1 GiB.
WATCHING_LIMIT = 200 * MiB
LEFT_LIMIT = 60 * MiB


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data", component="server")
    process.start()
    yield process
    process.stop()


class PeakRss:
    """Samples a process's RSS in a thread; ``peak`` is the largest seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def channel(address: str, n: int) -> grpc.aio.Channel:
    # A distinct option gives each channel a connection of its own.
    return grpc.aio.insecure_channel(
        address, options=[("test.connection", n), ("grpc.max_receive_message_length", 64 * MiB)]
    )


async def read_batches(stub: batch_grpc.EventBatchesStub, total: int, keep: bool) -> list[str]:
    """Batches until ``total`` events came; their ids if ``keep``, else the last one's."""
    call = stub.GetJobSetEventBatches(
        batch_pb.JobSetBatchRequest(queue="queue-a", id="watched", watch=True)
    )
    ids: list[str] = []
    count = 0
    async for batch in call:
        count += len(batch.messages)
        if keep:
            ids.extend(event_pb2.EventStreamMessage.FromString(m).id for m in batch.messages)
        if count >= total:
            call.cancel()
            last = event_pb2.EventStreamMessage.FromString(batch.messages[-1]).id
            return ids if keep else [f"{count} events, last {last}"]
    raise AssertionError(f"the stream ended after {count} of {total} events")


async def read_singles(stub: event_pb2_grpc.EventStub, total: int) -> list[str]:
    call = stub.GetJobSetEvents(event_pb2.JobSetRequest(queue="queue-a", id="watched", watch=True))
    ids = []
    async for message in call:
        ids.append(message.id)
        if len(ids) == total:
            call.cancel()
            return ids
    raise AssertionError(f"the stream ended after {len(ids)} of {total} events")


async def stall(
    stub: event_pb2_grpc.EventStub, batches: batch_grpc.EventBatchesStub, n: int
) -> None:
    """A watcher that never reads (even n) or reads one batch and stops (odd n), until
    cancelled."""
    request = event_pb2.JobSetRequest(queue="queue-a", id="watched", watch=True)
    if n % 2 == 0:
        call = stub.GetJobSetEvents(request)
    else:
        call = batches.GetJobSetEventBatches(
            batch_pb.JobSetBatchRequest(queue="queue-a", id="watched", watch=True, max_batch=10)
        )
        await call.read()
    try:
        await asyncio.Event().wait()
    finally:
        call.cancel()


def submit_all(address: str) -> None:
    with grpc.insecure_channel(address) as ch:
        client = ArmadaClient(ch)
        for _ in range(JOBS // PER_SUBMISSION):
            client.submit_jobs("queue-a", "watched", [item() for _ in range(PER_SUBMISSION)])


async def watch_while_submitting(address: str) -> list[list[str] | BaseException]:
    total = 2 * JOBS  # Submitted and Queued
    channels = [channel(address, n) for n in range(6)]
    try:
        readers = [channels[n % 4] for n in range(BATCHED_READERS + SINGLE_READERS)]
        tasks = [
            asyncio.create_task(read_batches(batch_grpc.EventBatchesStub(ch), total, n < 3))
            for n, ch in enumerate(readers[:BATCHED_READERS])
        ]
        tasks += [
            asyncio.create_task(read_singles(event_pb2_grpc.EventStub(ch), total))
            for ch in readers[BATCHED_READERS:]
        ]
        stalled = [
            asyncio.create_task(
                stall(
                    event_pb2_grpc.EventStub(channels[4 + n % 2]),
                    batch_grpc.EventBatchesStub(channels[4 + n % 2]),
                    n,
                )
            )
            for n in range(STALLED)
        ]
        await asyncio.to_thread(submit_all, address)
        async with asyncio.timeout(300):
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for task in stalled:
            task.cancel()
        await asyncio.gather(*stalled, return_exceptions=True)
        return results
    finally:
        for ch in channels:
            await ch.close()


@pytest.mark.slow
def test_two_hundred_watchers_get_every_event_in_bounded_memory(server: ServerProcess) -> None:
    with grpc.insecure_channel(server.address) as ch:
        client = ArmadaClient(ch)
        create_queue(client)
        client.submit_jobs("queue-a", "warm-up", [item()])
        assert len(events(client, "queue-a", "warm-up")) == 2
        idle = rss_bytes(server.pid)
        sampler = PeakRss(server.pid)
        try:
            results = asyncio.run(watch_while_submitting(server.address))
        finally:
            sampler.stop()
        expected = [m.id for m in events(client, "queue-a", "watched")]
    grew = sampler.peak - idle
    assert grew <= WATCHING_LIMIT, f"the server grew by {grew / MiB:.0f} MiB while watched"
    failed = [r for r in results if isinstance(r, BaseException)]
    assert not failed, f"{len(failed)} watchers failed, the first with {failed[0]!r}"
    batched, singles = results[:BATCHED_READERS], results[BATCHED_READERS:]
    assert len(expected) == 2 * JOBS
    for ids in batched[:3]:
        assert ids == expected, "a watcher gets every event, in order, once"
    summary = f"{2 * JOBS} events, last {expected[-1]}"
    assert [r[0] for r in batched[3:]] == [summary] * (BATCHED_READERS - 3)  # type: ignore[index]
    assert [r[-1] for r in singles] == [expected[-1]] * SINGLE_READERS  # type: ignore[index]

    def left() -> int:
        return rss_bytes(server.pid) - idle

    deadline = time.monotonic() + 30
    while left() > LEFT_LIMIT and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left() <= LEFT_LIMIT, f"{left() / MiB:.0f} MiB stayed after the watchers left"

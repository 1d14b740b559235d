"""Watchers share their job set's tail: they resume from any message through it, a watcher
that falls behind its ring reads the log by itself and rejoins it, and batches stay bounded."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.armada import event_pb2
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from armada.domain.events import LogEntry
from armada.rpc.gen import event_batches_pb2 as batch_pb
from armada.rpc.gen import event_batches_pb2_grpc as batch_grpc
from armada.server.event_pages import COMPLETE, batches, convert, unframe
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

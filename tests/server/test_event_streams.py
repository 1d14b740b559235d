"""api.Event: replay, resume from a message id, tail with watch, NOT_FOUND when asked."""

from __future__ import annotations

import threading

import grpc
import pytest
from armada_client.armada import event_pb2
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from tests.api_builders import create_queue, event_types, events, item


@pytest.fixture
def job_ids(client: ArmadaClient) -> list[str]:
    create_queue(client)
    response = client.submit_jobs("queue-a", "s", [item(), item(), item()])
    ids = [r.job_id for r in response.job_response_items]
    client.cancel_jobs("queue-a", "s", ids[2])
    return ids


def test_resuming_from_any_message_gives_exactly_what_follows(
    client: ArmadaClient, job_ids: list[str]
) -> None:
    everything = events(client, "queue-a", "s")
    assert len(everything) == 8
    assert len({m.id for m in everything}) == 8, "message ids are unique"
    for i, message in enumerate(everything):
        rest = events(client, "queue-a", "s", from_id=message.id)
        assert [m.id for m in rest] == [m.id for m in everything[i + 1 :]]
        assert rest == everything[i + 1 :]


def test_job_sets_are_separate(client: ArmadaClient, job_ids: list[str]) -> None:
    client.submit_jobs("queue-a", "other", [item()])
    assert len(events(client, "queue-a", "other")) == 2
    assert {job for job, _ in event_types(events(client, "queue-a", "s"))} == set(job_ids)


def test_error_if_missing_gives_not_found(client: ArmadaClient) -> None:
    create_queue(client)
    request = event_pb2.JobSetRequest(queue="queue-a", id="nothing", errorIfMissing=True)
    with pytest.raises(grpc.RpcError) as err:
        list(client.event_stub.GetJobSetEvents(request))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert (
        list(
            client.event_stub.GetJobSetEvents(
                event_pb2.JobSetRequest(queue="queue-a", id="nothing")
            )
        )
        == []
    )


@pytest.mark.parametrize("bad_id", ["garbage", "12", "0:0", "-1:2"])
def test_a_malformed_message_id_is_invalid(
    client: ArmadaClient, job_ids: list[str], bad_id: str
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        events(client, "queue-a", "s", from_id=bad_id)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "from_message_id" in err.value.details()


def open_watch(client: ArmadaClient, rpc: str, last: str) -> grpc.Future:
    if rpc == "GetJobSetEvents":
        return client.event_stub.GetJobSetEvents(
            event_pb2.JobSetRequest(queue="queue-a", id="s", from_message_id=last, watch=True)
        )
    return client.event_stub.Watch(
        event_pb2.WatchRequest(queue="queue-a", job_set_id="s", from_id=last)
    )


@pytest.mark.parametrize("rpc", ["GetJobSetEvents", "Watch"])
def test_watch_tails_new_events(client: ArmadaClient, job_ids: list[str], rpc: str) -> None:
    last = events(client, "queue-a", "s")[-1].id
    stream = open_watch(client, rpc, last)
    got: list[str] = []
    arrived = threading.Event()

    def read() -> None:
        try:
            for message in stream:
                got.append(message.message.WhichOneof("events"))
                if len(got) == 2:
                    arrived.set()
        except grpc.RpcError:
            pass  # cancelled below

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    client.reprioritize_jobs(9, [job_ids[0]], "s", "queue-a")
    assert arrived.wait(10), f"the watch saw only {got}"
    stream.cancel()
    reader.join(5)
    assert got == ["reprioritizing", "reprioritized"]


def batched(channel: grpc.Channel, from_id: str = "", max_batch: int = 0) -> list[object]:
    from armada.rpc.gen import event_batches_pb2 as batch_pb
    from armada.rpc.gen import event_batches_pb2_grpc as batch_grpc

    stub = batch_grpc.EventBatchesStub(channel)
    request = batch_pb.JobSetBatchRequest(
        queue="queue-a", id="s", from_message_id=from_id, max_batch=max_batch
    )
    return [
        event_pb2.EventStreamMessage.FromString(data)
        for batch in stub.GetJobSetEventBatches(request)
        for data in batch.messages
    ]


def test_the_batched_stream_carries_exactly_the_same_messages(
    client: ArmadaClient, channel: grpc.Channel, job_ids: list[str]
) -> None:
    everything = events(client, "queue-a", "s")
    assert batched(channel) == everything
    assert batched(channel, max_batch=3) == everything
    for i, message in enumerate(everything):
        assert batched(channel, from_id=message.id) == everything[i + 1 :]


def test_every_external_event_type_is_produced() -> None:
    """docs/api.md says every event type is produced (utilisation too, since issue 14.6);
    this keeps it true."""
    from armada.server.convert_events import _MAPPING

    produced = {name for names, _ in _MAPPING.values() for name in names}
    oneof = event_pb2.EventMessage.DESCRIPTOR.oneofs_by_name["events"]
    assert {field.name for field in oneof.fields} - produced == set()


def test_an_unexpected_error_mid_stream_ends_it_with_internal_not_unknown(
    armada: EmbeddedArmada,
    client: ArmadaClient,
    job_ids: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = armada.system.storage.log

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(log, "read_job_set", broken)
    with pytest.raises(grpc.RpcError) as caught:
        events(client, "queue-a", "s")
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert caught.value.details() == "internal error: disk on fire"
    monkeypatch.undo()
    assert len(events(client, "queue-a", "s")) == 8, "the server goes on serving"

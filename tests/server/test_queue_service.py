"""api.QueueService beyond armada-client's calls: errors, cordon, preempt/cancel on queue;
and the legacy queue RPCs on api.Submit that older clients (armadactl) still call."""

from __future__ import annotations

import grpc
import pytest
from armada_client.armada import submit_pb2, submit_pb2_grpc
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from armada.domain import events as ev
from tests.api_builders import create_queue, event_types, events, item


def code_of(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        call()  # type: ignore[operator]
    return err.value.code()


def test_errors_name_the_problem(client: ArmadaClient) -> None:
    create_queue(client, "q")
    stub = client.queue_stub
    assert code_of(lambda: client.create_queue(client.create_queue_request("q", 1))) == (
        grpc.StatusCode.ALREADY_EXISTS
    )
    assert code_of(lambda: client.update_queue(client.create_queue_request("nope", 1))) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert code_of(lambda: client.delete_queue("nope")) == grpc.StatusCode.NOT_FOUND
    assert code_of(lambda: stub.CreateQueue(submit_pb2.Queue(name="", priority_factor=1))) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert code_of(lambda: stub.CreateQueue(submit_pb2.Queue(name="z", priority_factor=0))) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert code_of(
        lambda: stub.CreateQueue(submit_pb2.Queue(name="bad name!", priority_factor=1))
    ) == (grpc.StatusCode.INVALID_ARGUMENT)
    bad_verb = submit_pb2.Queue(
        name="v", priority_factor=1, permissions=[submit_pb2.Queue.Permissions(verbs=["fly"])]
    )
    assert code_of(lambda: stub.CreateQueue(bad_verb)) == grpc.StatusCode.INVALID_ARGUMENT
    assert [q.name for q in client.get_queues()] == ["q"]


def test_a_queue_with_jobs_cannot_be_deleted(client: ArmadaClient) -> None:
    create_queue(client, "busy")
    job = client.submit_jobs("busy", "s", [item()]).job_response_items[0].job_id
    assert code_of(lambda: client.delete_queue("busy")) == grpc.StatusCode.FAILED_PRECONDITION
    client.cancel_jobs("busy", "s", job)
    client.delete_queue("busy")


def test_cordon_and_uncordon(client: ArmadaClient) -> None:
    create_queue(client, "q")
    client.queue_stub.CordonQueue(submit_pb2.QueueCordonRequest(name="q"))
    assert client.get_queue("q").cordoned
    client.queue_stub.UncordonQueue(submit_pb2.QueueUncordonRequest(name="q"))
    assert not client.get_queue("q").cordoned
    assert (
        code_of(lambda: client.queue_stub.CordonQueue(submit_pb2.QueueCordonRequest(name="nope")))
        == grpc.StatusCode.NOT_FOUND
    )


def test_queue_fields_round_trip(client: ArmadaClient) -> None:
    queue = submit_pb2.Queue(
        name="rich",
        priority_factor=1.5,
        user_owners=["a"],
        group_owners=["g"],
        labels={"team": "ml"},
        retry_policies=["p1"],
        permissions=[
            submit_pb2.Queue.Permissions(
                subjects=[submit_pb2.Queue.Permissions.Subject(kind="Group", name="ops")],
                verbs=["cancel", "watch"],
            )
        ],
    )
    queue.resource_limits_by_priority_class_name["armada-default"].maximum_resource_fraction[
        "cpu"
    ] = 0.5
    client.create_queue(queue)
    assert client.get_queue("rich") == queue


def test_get_queues_streams_then_ends_and_honours_num(client: ArmadaClient) -> None:
    for name in ("a", "b", "c"):
        create_queue(client, name)
    messages = list(client.queue_stub.GetQueues(submit_pb2.StreamingQueueGetRequest(num=2)))
    assert [m.WhichOneof("event") for m in messages] == ["queue", "queue", "end"]


def test_cancel_on_queue_filters_by_state_and_priority_class(
    client: ArmadaClient, armada: EmbeddedArmada
) -> None:
    create_queue(client, "q")
    ids = [r.job_id for r in client.submit_jobs("q", "s", [item(), item()]).job_response_items]
    lease = ev.JobRunLeased(job_id=ids[0], run_id="run-1", executor="c1", node="n1", pool="p")
    armada.system.storage.append(
        [ev.EventSequence(queue="q", job_set="s", user="scheduler", created=1.0, events=[lease])]
    )
    client.queue_stub.CancelOnQueue(
        submit_pb2.QueueCancelRequest(name="q", jobStates=[submit_pb2.QUEUED])
    )
    states = client.get_job_status(ids).job_states
    assert (states[ids[0]], states[ids[1]]) == (submit_pb2.LEASED, submit_pb2.CANCELLED)
    client.queue_stub.CancelOnQueue(
        submit_pb2.QueueCancelRequest(name="q", priorityClasses=["armada-preemptible"])
    )
    assert client.get_job_status(ids).job_states[ids[0]] == submit_pb2.LEASED
    assert (
        code_of(
            lambda: client.queue_stub.CancelOnQueue(
                submit_pb2.QueueCancelRequest(name="q", jobStates=[submit_pb2.SUCCEEDED])
            )
        )
        == grpc.StatusCode.INVALID_ARGUMENT
    )


def test_preempt_on_queue_asks_for_running_jobs_only(
    client: ArmadaClient, armada: EmbeddedArmada
) -> None:
    create_queue(client, "q")
    ids = [r.job_id for r in client.submit_jobs("q", "s", [item(), item()]).job_response_items]
    lease = ev.JobRunLeased(job_id=ids[0], run_id="run-1", executor="c1", node="n1", pool="p")
    armada.system.storage.append(
        [ev.EventSequence(queue="q", job_set="s", user="scheduler", created=1.0, events=[lease])]
    )
    client.queue_stub.PreemptOnQueue(submit_pb2.QueuePreemptRequest(name="q"))
    assert event_types(events(client, "q", "s"))[-1] == (ids[0], "preempting")
    assert (ids[1], "preempting") not in event_types(events(client, "q", "s"))


def test_legacy_queue_rpcs_on_submit(client: ArmadaClient, channel: grpc.Channel) -> None:
    submit = submit_pb2_grpc.SubmitStub(channel)
    submit.CreateQueue(submit_pb2.Queue(name="old", priority_factor=1, labels={"a": "1"}))
    assert submit.GetQueue(submit_pb2.QueueGetRequest(name="old")).labels == {"a": "1"}
    assert client.get_queue("old").labels == {"a": "1"}, "the same queues as QueueService"
    submit.UpdateQueue(submit_pb2.Queue(name="old", priority_factor=2))
    assert submit.GetQueue(submit_pb2.QueueGetRequest(name="old")).priority_factor == 2
    created = submit.CreateQueues(
        submit_pb2.QueueList(
            queues=[
                submit_pb2.Queue(name="b1", priority_factor=1),
                submit_pb2.Queue(name="old", priority_factor=1),
                submit_pb2.Queue(name="", priority_factor=1),
            ]
        )
    )
    assert [(f.queue.name, "already exists" in f.error) for f in created.failed_queues] == [
        ("old", True),
        ("", False),
    ]
    updated = submit.UpdateQueues(
        submit_pb2.QueueList(
            queues=[
                submit_pb2.Queue(name="b1", priority_factor=3),
                submit_pb2.Queue(name="gone", priority_factor=1),
            ]
        )
    )
    assert [(f.queue.name, "does not exist" in f.error) for f in updated.failed_queues] == [
        ("gone", True)
    ]
    assert client.get_queue("b1").priority_factor == 3
    streamed = list(submit.GetQueues(submit_pb2.StreamingQueueGetRequest()))
    assert [m.queue.name for m in streamed if m.WhichOneof("event") == "queue"] == ["b1", "old"]
    assert streamed[-1].WhichOneof("event") == "end"
    submit.DeleteQueue(submit_pb2.QueueDeleteRequest(name="b1"))
    assert [q.name for q in client.get_queues()] == ["old"]


def test_legacy_queue_rpcs_on_submit_refuse_with_armadas_codes(
    client: ArmadaClient, channel: grpc.Channel
) -> None:
    submit = submit_pb2_grpc.SubmitStub(channel)
    create_queue(client, "q")
    assert code_of(lambda: submit.CreateQueue(submit_pb2.Queue(name="q", priority_factor=1))) == (
        grpc.StatusCode.ALREADY_EXISTS
    )
    assert code_of(lambda: submit.CreateQueue(submit_pb2.Queue(name="z", priority_factor=0))) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert code_of(lambda: submit.UpdateQueue(submit_pb2.Queue(name="q", priority_factor=-1))) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert code_of(
        lambda: submit.UpdateQueue(submit_pb2.Queue(name="nope", priority_factor=1))
    ) == (grpc.StatusCode.NOT_FOUND)
    assert code_of(lambda: submit.GetQueue(submit_pb2.QueueGetRequest(name="nope"))) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert code_of(lambda: submit.DeleteQueue(submit_pb2.QueueDeleteRequest(name="nope"))) == (
        grpc.StatusCode.NOT_FOUND
    )
    client.submit_jobs("q", "s", [item()])
    assert code_of(lambda: submit.DeleteQueue(submit_pb2.QueueDeleteRequest(name="q"))) == (
        grpc.StatusCode.FAILED_PRECONDITION
    )
    assert [q.name for q in client.get_queues()] == ["q"]
    assert client.get_queue("q").priority_factor == 1, "refused updates changed nothing"

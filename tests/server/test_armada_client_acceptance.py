"""Armada's own Python client (armada-client from PyPI), unmodified, against our server."""

from __future__ import annotations

import threading

import grpc
import pytest
from armada_client.client import ArmadaClient
from armada_client.typings import EventType, JobState

from armada.dev.embedded import EmbeddedArmada
from tests.api_builders import create_queue, event_types, events, item


def test_queue_lifecycle(client: ArmadaClient) -> None:
    client.create_queue(client.create_queue_request("team-a", 2.0, user_owners=["alice"]))
    queue = client.get_queue("team-a")
    assert (queue.name, queue.priority_factor, list(queue.user_owners)) == (
        "team-a",
        2.0,
        ["alice"],
    )

    client.update_queue(client.create_queue_request("team-a", 3.0))
    assert client.get_queue("team-a").priority_factor == 3.0

    create_queue(client, "team-b")
    assert [q.name for q in client.get_queues()] == ["team-a", "team-b"]

    client.delete_queue("team-a")
    with pytest.raises(grpc.RpcError) as err:
        client.get_queue("team-a")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert [q.name for q in client.get_queues()] == ["team-b"]


def test_batch_queue_calls_report_failures_per_queue(client: ArmadaClient) -> None:
    create_queue(client, "exists")
    response = client.create_queues(
        [client.create_queue_request("exists", 1.0), client.create_queue_request("fresh", 1.0)]
    )
    assert [(f.queue.name, "already exists" in f.error) for f in response.failed_queues] == [
        ("exists", True)
    ]
    updated = client.update_queues([client.create_queue_request("missing", 1.0)])
    assert [f.queue.name for f in updated.failed_queues] == ["missing"]
    assert {q.name for q in client.get_queues()} == {"exists", "fresh"}


def test_submit_then_watch_submitted_and_queued(client: ArmadaClient) -> None:
    create_queue(client)
    response = client.submit_jobs("queue-a", "set-1", [item(), item()])
    ids = [r.job_id for r in response.job_response_items]
    assert len(set(ids)) == 2 and all(ids)
    assert event_types(events(client, "queue-a", "set-1")) == [
        (ids[0], "submitted"),
        (ids[0], "queued"),
        (ids[1], "submitted"),
        (ids[1], "queued"),
    ]
    submitted = events(client, "queue-a", "set-1")[0].message.submitted.job
    assert (submitted.queue, submitted.job_set_id, submitted.namespace) == (
        "queue-a",
        "set-1",
        "default",
    )
    assert submitted.pod_spec.containers[0].image == "busybox:latest"


def test_cancel_and_reprioritise_show_in_the_event_stream(client: ArmadaClient) -> None:
    create_queue(client)
    ids = [
        r.job_id for r in client.submit_jobs("queue-a", "s", [item(), item()]).job_response_items
    ]
    client.reprioritize_jobs(new_priority=7, job_ids=[ids[0]], job_set_id="s", queue="queue-a")
    result = client.cancel_jobs("queue-a", "s", ids[1])
    assert list(result.cancelled_ids) == [ids[1]]
    kinds = event_types(events(client, "queue-a", "s"))[4:]
    assert kinds == [
        (ids[0], "reprioritizing"),
        (ids[0], "reprioritized"),
        (ids[1], "cancelling"),
        (ids[1], "cancelled"),
    ]
    details = client.get_job_details(ids).job_details
    assert details[ids[1]].cancel_user == "anonymous"
    states = client.get_job_status(ids).job_states
    assert (states[ids[0]], states[ids[1]]) == (JobState.QUEUED.value, JobState.CANCELLED.value)


def test_the_resilient_watch_of_armada_client_follows_new_events(client: ArmadaClient) -> None:
    create_queue(client)
    first = client.submit_jobs("queue-a", "live", [item()]).job_response_items[0].job_id
    stream = client.get_job_events_stream("queue-a", "live")
    seen: list[EventType] = []
    done = threading.Event()

    def read() -> None:
        for message in stream:
            seen.append(client.unmarshal_event_response(message).type)
            if len(seen) == 4:
                done.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    client.cancel_jobs("queue-a", "live", first)  # arrives while the watch is open
    assert done.wait(10), f"watch saw only {seen}"
    client.unwatch_events(stream)
    assert seen == [
        EventType.submitted,
        EventType.queued,
        EventType.cancelling,
        EventType.cancelled,
    ]


def test_job_status_and_details(client: ArmadaClient) -> None:
    create_queue(client)
    job_id = client.submit_jobs("queue-a", "s", [item(priority=3)]).job_response_items[0].job_id
    assert client.get_job_status([job_id, "no-such-job"]).job_states == {
        job_id: JobState.QUEUED.value,
        "no-such-job": 5,  # 5 is api.JobState UNKNOWN
    }
    details = client.get_job_details([job_id]).job_details[job_id]
    assert (details.queue, details.jobset, details.namespace) == ("queue-a", "s", "default")
    assert details.state == JobState.QUEUED.value and not details.job_runs
    assert details.submitted_ts.seconds > 0
    assert client.get_job_errors([job_id]).job_errors == {job_id: ""}


def test_duplicate_client_id_returns_the_original_job(
    client: ArmadaClient, armada: EmbeddedArmada
) -> None:
    create_queue(client)
    first = client.submit_jobs("queue-a", "s", [item(client_id="run-42")])
    head = armada.system.storage.log.head()
    again = client.submit_jobs("queue-a", "other-set", [item(client_id="run-42"), item()])
    assert again.job_response_items[0].job_id == first.job_response_items[0].job_id
    assert again.job_response_items[1].job_id != first.job_response_items[0].job_id
    assert armada.system.storage.log.head() == head + 1, "only the new job was stored"
    twice = client.submit_jobs("queue-a", "s", [item(client_id="x"), item(client_id="x")])
    assert len({r.job_id for r in twice.job_response_items}) == 1


def test_health(client: ArmadaClient) -> None:
    assert client.submit_health().status == 1  # SERVING
    assert client.event_health().status == 1

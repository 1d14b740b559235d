"""api.Jobs queries, and the job commands of api.Submit (cancel, reprioritise, preempt)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from armada_client.armada import job_pb2, submit_pb2
from armada_client.client import ArmadaClient
from armada_client.typings import JobState

from armada.dev.embedded import EmbeddedArmada
from armada.domain import events as ev
from tests.api_builders import create_queue, event_types, events, item


def scheduler_says(armada: EmbeddedArmada, *evs: ev.Event, job_set: str = "s") -> None:
    """Append events as the scheduler would (it is not running in these tests)."""
    armada.system.storage.append(
        [
            ev.EventSequence(
                queue="queue-a",
                job_set=job_set,
                user="scheduler",
                created=1_800_000_000.0,
                events=list(evs),
            )
        ]
    )


@pytest.fixture
def ids(client: ArmadaClient) -> list[str]:
    create_queue(client)
    response = client.submit_jobs("queue-a", "s", [item(), item(), item()])
    return [r.job_id for r in response.job_response_items]


def run(job_id: str, run_id: str) -> list[ev.Event]:
    return [
        ev.JobRunLeased(
            job_id=job_id, run_id=run_id, executor="cluster-1", node="node-7", pool="gpu"
        ),
        ev.JobRunAssigned(
            job_id=job_id,
            run_id=run_id,
            pod_name=f"armada-{job_id}-0",
            executor="cluster-1",
            pool="gpu",
        ),
        ev.JobRunRunning(job_id=job_id, run_id=run_id, node="node-7", executor="cluster-1"),
    ]


def test_run_details_and_errors(
    client: ArmadaClient, armada: EmbeddedArmada, ids: list[str]
) -> None:
    failure = ev.FailureInfo(
        reason="container main exited with code 3",
        exit_codes={"main": 3},
        cluster="cluster-1",
        node="node-7",
    )
    scheduler_says(
        armada,
        *run(ids[0], "r-1"),
        ev.JobRunFailed(job_id=ids[0], run_id="r-1", failure=failure),
        ev.JobFailed(job_id=ids[0], run_id="r-1", failure=failure),
        *run(ids[1], "r-2"),
    )
    status = client.get_job_status(ids).job_states
    assert [status[i] for i in ids] == [
        JobState.FAILED.value,
        JobState.RUNNING.value,
        JobState.QUEUED.value,
    ]
    assert client.get_job_errors(ids).job_errors[ids[0]] == "container main exited with code 3"
    runs = client.get_job_run_details(["r-1", "r-2", "missing"]).job_run_details
    assert set(runs) == {"r-1", "r-2"}
    assert (runs["r-2"].cluster, runs["r-2"].node, runs["r-2"].state) == (
        "cluster-1",
        "node-7",
        job_pb2.RUN_STATE_RUNNING,
    )
    assert runs["r-1"].state == job_pb2.RUN_STATE_FAILED and runs["r-1"].finished_ts.seconds
    details = client.get_job_details([ids[1]]).job_details[ids[1]]
    assert details.latest_run_id == "r-2" and [r.run_id for r in details.job_runs] == ["r-2"]
    kinds = [kind for job, kind in event_types(events(client, "queue-a", "s")) if job == ids[0]]
    assert kinds == ["submitted", "queued", "leased", "pending", "running", "failed"]
    failed = events(client, "queue-a", "s")[-4].message.failed
    assert (failed.cluster_id, dict(failed.exit_codes)) == ("cluster-1", {"main": 3})


def test_active_queues_by_pool(
    client: ArmadaClient, armada: EmbeddedArmada, ids: list[str]
) -> None:
    create_queue(client, "idle")
    scheduler_says(armada, *run(ids[0], "r-1"))
    active = client.job_stub.GetActiveQueues(job_pb2.GetActiveQueuesRequest())
    assert {pool: list(q.queues) for pool, q in active.active_queues_by_pool.items()} == {
        "gpu": ["queue-a"],
        "default": ["queue-a"],
    }


def test_status_by_external_job_uri(client: ArmadaClient) -> None:
    create_queue(client)
    job = client.submit_jobs("queue-a", "s", [item(external_job_uri="airflow://dag/task/1")])
    job_id = job.job_response_items[0].job_id
    found = client.get_job_status_by_external_job_uri("queue-a", "s", "airflow://dag/task/1")
    assert dict(found.job_states) == {job_id: JobState.QUEUED.value}
    assert not client.get_job_status_by_external_job_uri("queue-a", "s", "other").job_states


def test_too_many_ids_at_once_is_refused(client: ArmadaClient) -> None:
    with pytest.raises(grpc.RpcError) as err:
        client.get_job_status([f"j{i}" for i in range(501)])
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_cancel_job_set_with_a_state_filter(
    client: ArmadaClient, armada: EmbeddedArmada, ids: list[str]
) -> None:
    scheduler_says(armada, *run(ids[0], "r-1"))
    client.cancel_jobset("queue-a", "s", [JobState.QUEUED])
    status = client.get_job_status(ids).job_states
    assert [status[i] for i in ids] == [
        JobState.RUNNING.value,
        JobState.CANCELLED.value,
        JobState.CANCELLED.value,
    ]
    with pytest.raises(grpc.RpcError) as err:
        client.cancel_jobset("queue-a", "s", [JobState.PENDING])
    assert "PENDING and RUNNING must be given together" in err.value.details()
    client.cancel_jobset("queue-a", "s", [JobState.PENDING, JobState.RUNNING])
    assert client.get_job_status([ids[0]]).job_states[ids[0]] == JobState.CANCELLED.value


def test_cancelling_without_ids_cancels_the_job_set(client: ArmadaClient, ids: list[str]) -> None:
    result = client.submit_stub.CancelJobs(
        submit_pb2.JobCancelRequest(queue="queue-a", job_set_id="s")
    )
    assert sorted(result.cancelled_ids) == sorted(ids)
    again = client.submit_stub.CancelJobs(
        submit_pb2.JobCancelRequest(queue="queue-a", job_set_id="s", job_ids=ids)
    )
    assert list(again.cancelled_ids) == [], "finished jobs are not cancelled twice"


def test_cancel_needs_queue_and_job_set(client: ArmadaClient, ids: list[str]) -> None:
    with pytest.raises(grpc.RpcError) as err:
        client.submit_stub.CancelJobs(submit_pb2.JobCancelRequest(job_id=ids[0]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def code_of(call: object, request: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        call(request)  # type: ignore[operator]
    return err.value.code()


def test_commands_on_a_missing_queue_or_with_a_long_reason_are_errors_as_in_armada(
    client: ArmadaClient, ids: list[str]
) -> None:
    """Armada's server looks the queue up (to authorise) and refuses reasons over 50 bytes;
    unknown or malformed job ids are not errors there (nothing is cancelled: an empty result)."""
    stub = client.submit_stub
    missing: dict[str, Any] = {"queue": "no-such-queue", "job_set_id": "s"}
    assert code_of(stub.CancelJobs, submit_pb2.JobCancelRequest(**missing, job_ids=ids)) == (
        grpc.StatusCode.NOT_FOUND
    )
    assert code_of(stub.CancelJobSet, submit_pb2.JobSetCancelRequest(**missing)) == (
        grpc.StatusCode.NOT_FOUND
    )
    reprioritise = submit_pb2.JobReprioritizeRequest(**missing, job_ids=ids, new_priority=2)
    assert code_of(stub.ReprioritizeJobs, reprioritise) == grpc.StatusCode.NOT_FOUND
    preempt = submit_pb2.JobPreemptRequest(**missing, job_ids=ids)
    assert code_of(stub.PreemptJobs, preempt) == grpc.StatusCode.NOT_FOUND
    long = submit_pb2.JobCancelRequest(
        queue="queue-a", job_set_id="s", job_ids=ids, reason="x" * 51
    )
    assert code_of(stub.CancelJobs, long) == grpc.StatusCode.INVALID_ARGUMENT
    unknown = submit_pb2.JobCancelRequest(
        queue="queue-a", job_set_id="s", job_ids=["01unknown", "not an id!", ""]
    )
    assert list(stub.CancelJobs(unknown).cancelled_ids) == []
    assert client.get_job_status(ids).job_states == dict.fromkeys(ids, JobState.QUEUED.value)


def test_reprioritise_a_whole_job_set_and_report_each_job(
    client: ArmadaClient, ids: list[str]
) -> None:
    client.cancel_jobs("queue-a", "s", ids[2])
    result = client.reprioritize_jobs(new_priority=4, job_ids=None, job_set_id="s", queue="queue-a")
    assert dict(result.reprioritization_results) == {ids[0]: "", ids[1]: ""}
    by_id = client.reprioritize_jobs(4, [ids[2], "unknown"], "s", "queue-a")
    assert dict(by_id.reprioritization_results) == {
        ids[2]: "the job has already finished",
        "unknown": "job not found in this queue and job set",
    }
    with pytest.raises(grpc.RpcError) as err:
        client.reprioritize_jobs(-3, [ids[0]], "s", "queue-a")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_preempt_jobs_reports_which_could_be_asked(
    client: ArmadaClient, armada: EmbeddedArmada, ids: list[str]
) -> None:
    scheduler_says(armada, *run(ids[0], "r-1"))
    result = client.submit_stub.PreemptJobs(
        submit_pb2.JobPreemptRequest(
            queue="queue-a", job_set_id="s", job_ids=[ids[0], ids[1]], reason="maintenance"
        )
    )
    assert dict(result.preemption_results) == {ids[0]: "", ids[1]: "the job is not running"}
    preempting = events(client, "queue-a", "s")[-1].message.preempting
    assert (preempting.job_id, preempting.reason, preempting.requestor) == (
        ids[0],
        "maintenance",
        "anonymous",
    )


def test_a_late_command_on_a_finished_job_changes_nothing(
    client: ArmadaClient, armada: EmbeddedArmada, ids: list[str]
) -> None:
    scheduler_says(
        armada,
        *run(ids[0], "r-1"),
        ev.JobRunSucceeded(job_id=ids[0], run_id="r-1"),
        ev.JobSucceeded(job_id=ids[0], run_id="r-1"),
    )
    # A cancel that raced the success is in the log after it, and is skipped by the views.
    scheduler_says(armada, ev.CancelledJob(job_id=ids[0]))
    assert client.get_job_status([ids[0]]).job_states[ids[0]] == JobState.SUCCEEDED.value
    assert armada.system.storage.updater.skipped == 1


def test_job_details_too_large_for_a_default_client_are_refused_saying_how_many_fit(
    client: ArmadaClient,
) -> None:
    """20 jobs with 200 KB of annotations each: their details with the job spec come to about
    4 MB, more than a default client accepts (it would fail with `Received message larger
    than max`). The server refuses with the limit and how many would fit, and those do."""
    create_queue(client)
    big = item(annotations={"example.com/notes": "x" * 220_000})
    response = client.submit_jobs("queue-a", "big", [big] * 20)
    ids = [r.job_id for r in response.job_response_items]
    request = job_pb2.JobDetailsRequest(job_ids=ids, expand_job_spec=True)
    with pytest.raises(grpc.RpcError) as err:
        client.job_stub.GetJobDetails(request)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    message = err.value.details()
    assert "4,194,304 (4 MiB)" in message and "the first 19 would fit" in message
    assert "without expand_job_spec" in message
    fits = client.job_stub.GetJobDetails(
        job_pb2.JobDetailsRequest(job_ids=ids[:19], expand_job_spec=True)
    )
    assert len(fits.job_details) == 19
    assert len(client.job_stub.GetJobDetails(job_pb2.JobDetailsRequest(job_ids=ids)).job_details)


def test_job_status_echoing_long_unknown_ids_stays_within_a_default_client(
    client: ArmadaClient,
) -> None:
    """GetJobStatus answers UNKNOWN under each id asked for, so 500 ids of 10 KB would make
    a 5 MB reply: refused with the limit rather than sent."""
    ids = [f"{n:03d}" + "j" * 10_000 for n in range(500)]
    with pytest.raises(grpc.RpcError) as err:
        client.job_stub.GetJobStatus(job_pb2.JobStatusRequest(job_ids=ids))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "GetJobStatus" in err.value.details() and "4 MiB" in err.value.details()

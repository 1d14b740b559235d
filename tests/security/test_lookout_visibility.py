"""The Lookout API shows a caller only the queues they may ``watch`` (as gRPC's events do):
lists of jobs and groups hold only those queues' jobs, one job's data in another queue is a 403
naming ``watch`` and the queue."""

from __future__ import annotations

from typing import Any

import pytest
from armada_client.armada import submit_pb2

from armada.waiting import wait_until
from tests.api_builders import container, item, pod_spec
from tests.security.test_rest_denials import http_client
from tests.security.test_secure_system import basic, secure_client

OPEN, CLOSED = "vis-open", "vis-closed"


def watched_by(name: str, group: str) -> submit_pb2.Queue:
    subject = submit_pb2.Queue.Permissions.Subject(kind="Group", name=group)
    permission = submit_pb2.Queue.Permissions(subjects=[subject], verbs=["watch"])
    return submit_pb2.Queue(name=name, priority_factor=1, permissions=[permission])


@pytest.fixture(scope="module")
def jobs(system: Any) -> dict[str, tuple[str, str]]:
    """A long job in each queue (bob's group may watch OPEN only), leased: queue -> (job,
    run)."""
    alice = secure_client(system, basic("alice"))
    alice.create_queue(watched_by(OPEN, "users"))
    alice.create_queue(watched_by(CLOSED, "others"))
    found = {}
    armada, _ = system
    store = armada.system.storage.store
    for queue in (OPEN, CLOSED):
        # long enough to stay active whatever ran before in this module (counts hold only
        # active jobs)
        response = alice.submit_jobs(
            queue, "set", [item(pod_spec(container(args=("sleep", "3600"))))]
        )
        job_id = response.job_response_items[0].job_id

        def run_of(job_id: str = job_id) -> str | None:
            job = store.get_job(job_id)
            run = job.latest_run if job is not None else None
            return run.run_id if run is not None else None

        found[queue] = (job_id, wait_until(run_of, timeout=30, what="the job to be leased"))
    return found


def listed(system: Any, user: str, body: dict[str, Any]) -> list[str]:
    with http_client(system, user) as client:
        reply = client.post("/api/v1/jobs", json=body)
    assert reply.status_code == 200, reply.text
    return [job["queue"] for job in reply.json()["jobs"]]


def test_jobs_and_groups_hold_only_the_queues_the_caller_may_watch(
    system: Any, jobs: dict[str, tuple[str, str]]
) -> None:
    assert sorted(listed(system, "alice", {"take": 100})) == [CLOSED, OPEN]  # watch_all_events
    assert listed(system, "bob", {"take": 100}) == [OPEN]
    closed = {"filters": [{"field": "queue", "match": "exact", "value": CLOSED}]}
    assert listed(system, "bob", closed) == []
    grouped = {"groupedField": {"field": "queue"}, "aggregates": ["state"]}
    with http_client(system, "bob") as bob:
        groups = bob.post("/api/v1/jobGroups", json=grouped).json()["groups"]
        queues = bob.get("/api/armada/queues").json()["queues"]
    assert [group["name"] for group in groups] == [OPEN]
    counts = {queue["name"]: queue["jobCounts"] for queue in queues}
    assert counts[CLOSED] == {}, "the queue is listed, its jobs are not counted for bob"
    assert sum(counts[OPEN].values()) == 1


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/api/v1/jobSpec", "jobId"),
        ("/api/v1/jobError", "jobId"),
        ("/api/armada/jobEvents", "jobId"),
        ("/api/v1/jobRunError", "runId"),
        ("/api/v1/jobRunDebugMessage", "runId"),
        ("/api/v1/jobRunSchedulerTerminationReason", "runId"),
    ],
)
def test_one_jobs_data_needs_watch_on_its_queue(
    system: Any, jobs: dict[str, tuple[str, str]], path: str, key: str
) -> None:
    def body(queue: str) -> dict[str, str]:
        job_id, run_id = jobs[queue]
        return {key: job_id if key == "jobId" else run_id}

    with http_client(system, "bob") as bob:
        denied = bob.post(path, json=body(CLOSED))
        allowed = bob.post(path, json=body(OPEN))
    assert denied.status_code == 403, denied.text
    message = denied.json()["error"]
    assert "'watch'" in message and CLOSED in message and "watch_all_events" in message
    assert allowed.status_code == 200, allowed.text
    with http_client(system, "alice") as alice:
        assert alice.post(path, json=body(CLOSED)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/binoculars/log", "job"),
        ("GET", "/v1/job/{job}/scheduler-report", None),
        ("GET", "/v1/queue/{queue}/scheduler-report", None),
    ],
)
def test_the_uis_logs_and_reports_need_watch_as_over_grpc(
    system: Any, jobs: dict[str, tuple[str, str]], method: str, path: str, body: str | None
) -> None:
    def call(user: str, queue: str) -> Any:
        job_id = jobs[queue][0]
        url = path.format(job=job_id, queue=queue)
        payload = {"jobId": job_id, "podNamespace": "default"} if body else None
        with http_client(system, user) as client:
            return client.request(method, url, json=payload)

    denied = call("bob", CLOSED)
    assert denied.status_code == 403, denied.text
    assert "'watch'" in denied.json()["message"] or "watch_all_events" in denied.json()["message"]
    assert call("bob", OPEN).status_code != 403
    assert call("alice", CLOSED).status_code != 403

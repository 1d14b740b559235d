"""The REST gateway: the cases of the gRPC tests (tests/server), over JSON and HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from armada.dev.embedded import EmbeddedArmada
from tests.conftest import dev_settings
from tests.lookout.conftest import basic, create_queue, job_item, submit
from tests.server.test_jobs_and_commands import run, scheduler_says

S = {"queue": "queue-a", "jobSetId": "s"}  # the job set the tests use


@pytest.fixture
def ids(http: httpx2.Client) -> list[str]:
    create_queue(http)
    return submit(http)


def states(http: httpx2.Client, ids: list[str]) -> list[str]:
    response = http.post("/v1/job/status", json={"jobIds": ids})
    assert response.status_code == 200, response.text
    found = response.json()["jobStates"]
    return [found[i] for i in ids]


def stream(http: httpx2.Client, path: str, **body: object) -> list[dict[str, object]]:
    response = http.post(path, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    return [json.loads(line) for line in response.text.splitlines()]


def test_submit_then_status_and_details(http: httpx2.Client, ids: list[str]) -> None:
    assert states(http, ids) == ["QUEUED"] * 3
    details = http.post("/v1/job/details", json={"jobIds": ids[:1], "expandJobSpec": True})
    assert details.status_code == 200, details.text
    detail = details.json()["jobDetails"][ids[0]]
    # QUEUED is the enum's zero: protobuf JSON leaves it out, as Armada's gateway does.
    assert (detail["queue"], detail["jobset"], detail.get("state")) == ("queue-a", "s", None)
    assert detail["jobSpec"]["podSpec"]["containers"][0]["image"] == "busybox:latest"
    unknown = http.post("/v1/job/status", json={"jobIds": ["01unknown"]}).json()
    assert unknown == {"jobStates": {"01unknown": "UNKNOWN"}}


def test_submission_is_validated_as_over_grpc(http: httpx2.Client) -> None:
    create_queue(http)
    body = {**S, "jobRequestItems": [job_item(namespace="")]}
    response = http.post("/v1/job/submit", json=body)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == 3 and "namespace" in error["message"] and error["details"] == []
    missing = http.post("/v1/job/submit", json={**body, "queue": "nope"})
    assert (missing.status_code, missing.json()["code"]) == (403, 7)


def test_the_caller_named_in_the_authorization_header_owns_the_jobs(
    http: httpx2.Client, armada: EmbeddedArmada
) -> None:
    create_queue(http)
    body = {**S, "jobRequestItems": [job_item()]}
    response = http.post("/v1/job/submit", json=body, headers=basic("alice"))
    job_id = response.json()["jobResponseItems"][0]["jobId"]
    job = armada.system.storage.store.get_job(job_id)
    assert job is not None and job.spec.owner == "alice"


def test_cancel_jobs_and_job_sets(
    http: httpx2.Client, armada: EmbeddedArmada, ids: list[str]
) -> None:
    scheduler_says(armada, *run(ids[0], "r-1"))
    response = http.post("/v1/jobset/cancel", json={**S, "filter": {"states": ["QUEUED"]}})
    assert response.status_code == 200, response.text
    assert states(http, ids) == ["RUNNING", "CANCELLED", "CANCELLED"]
    bad = http.post(
        "/v1/jobset/cancel",
        json={**S, "filter": {"states": ["PENDING"]}},
    )
    assert bad.status_code == 400
    assert "PENDING and RUNNING must be given together" in bad.json()["message"]
    one = http.post(
        "/v1/job/cancel",
        json={**S, "jobIds": [ids[0]], "reason": "done"},
    )
    assert one.json() == {"cancelledIds": [ids[0]]}
    missing = http.post(
        "/v1/job/cancel", json={"queue": "no-such-queue", "jobSetId": "s", "jobIds": ids}
    )
    assert (missing.status_code, missing.json()["code"]) == (404, 5)
    long = http.post("/v1/job/cancel", json={**S, "reason": "x" * 51})
    assert long.status_code == 400


def test_reprioritise_reports_each_job(http: httpx2.Client, ids: list[str]) -> None:
    http.post("/v1/job/cancel", json={**S, "jobIds": [ids[2]]})
    whole = http.post("/v1/job/reprioritize", json={**S, "newPriority": 4})
    assert whole.json() == {"reprioritizationResults": {ids[0]: "", ids[1]: ""}}
    by_id = http.post(
        "/v1/job/reprioritize",
        json={**S, "newPriority": 4, "jobIds": [ids[2], "unknown"]},
    )
    assert by_id.json()["reprioritizationResults"] == {
        ids[2]: "the job has already finished",
        "unknown": "job not found in this queue and job set",
    }
    negative = http.post(
        "/v1/job/reprioritize",
        json={**S, "newPriority": -3, "jobIds": ids},
    )
    assert negative.status_code == 400


def test_preempt_reports_which_jobs_could_be_asked(
    http: httpx2.Client, armada: EmbeddedArmada, ids: list[str]
) -> None:
    scheduler_says(armada, *run(ids[0], "r-1"))
    response = http.post(
        "/v1/job/preempt",
        json={**S, "jobIds": ids[:2], "reason": "maintenance"},
        headers=basic("bob"),
    )
    assert response.json() == {"preemptionResults": {ids[0]: "", ids[1]: "the job is not running"}}
    # The in-process scheduler may answer the preemption with events of its own after it.
    lines: list[Any] = stream(http, "/v1/job-set/queue-a/s")
    messages = [line["result"]["message"] for line in lines]
    preempting = next(m["preempting"] for m in messages if "preempting" in m)
    assert preempting == {
        "jobId": ids[0],
        "jobSetId": "s",
        "queue": "queue-a",
        "created": preempting["created"],
        "requestor": "bob",
        "reason": "maintenance",
    }


def test_queue_crud(http: httpx2.Client) -> None:
    create_queue(http, "q1")
    again = http.post("/v1/queue", json={"name": "q1", "priorityFactor": 1})
    assert (again.status_code, again.json()["code"]) == (409, 6)
    assert http.get("/v1/queue/q1").json() == {"name": "q1", "priorityFactor": 1.0}
    updated = http.put("/v1/queue/q1", json={"name": "q1", "priorityFactor": 2})
    assert updated.status_code == 200
    assert http.get("/v1/queue/q1").json()["priorityFactor"] == 2.0
    assert http.put("/v1/queue/q9", json={"name": "q9", "priorityFactor": 2}).status_code == 404
    batch = http.post(
        "/v1/batched/create_queues",
        json={"queues": [{"name": "q2", "priorityFactor": 1}, {"name": "q1", "priorityFactor": 1}]},
    )
    assert batch.status_code == 200
    failed = batch.json()["failedQueues"]
    assert [f["queue"]["name"] for f in failed] == ["q1"]
    listed = http.get("/v1/batched/queues")
    lines = [json.loads(line) for line in listed.text.splitlines()]
    assert [line["result"].get("queue", {}).get("name") for line in lines] == ["q1", "q2", None]
    assert lines[-1] == {"result": {"end": {}}}
    assert http.delete("/v1/queue/q2").status_code == 200
    gone = http.get("/v1/queue/q2")
    assert (gone.status_code, gone.json()["code"]) == (404, 5)


def test_event_stream_replays_resumes_and_reports_a_missing_job_set(
    http: httpx2.Client, ids: list[str]
) -> None:
    lines = stream(http, "/v1/job-set/queue-a/s")
    kinds = [next(iter(line["result"]["message"])) for line in lines]  # type: ignore[index]
    assert kinds == ["submitted", "queued"] * 3
    first_id = lines[1]["result"]["id"]  # type: ignore[index]
    rest = stream(http, "/v1/job-set/queue-a/s", fromMessageId=first_id)
    assert rest == lines[2:]
    missing = http.post("/v1/job-set/queue-a/nope", json={"errorIfMissing": True})
    assert (missing.status_code, missing.json()["code"]) == (404, 5)
    bad_id = http.post("/v1/job-set/queue-a/s", json={"fromMessageId": "x"})
    assert bad_id.status_code == 400


def test_a_watching_stream_delivers_events_as_they_happen(
    http: httpx2.Client, ids: list[str]
) -> None:
    with http.stream("POST", "/v1/job-set/queue-a/s", json={"watch": True}) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        seen = [json.loads(next(lines)) for _ in range(6)]
        http.post("/v1/job/cancel", json={**S, "jobIds": [ids[0]]})
        later = [json.loads(next(lines)) for _ in range(2)]
    assert len(seen) == 6
    assert [next(iter(line["result"]["message"])) for line in later] == ["cancelling", "cancelled"]


def test_retry_policies(http: httpx2.Client) -> None:
    created = http.post("/v1/retry-policy", json={"name": "p1", "retryLimit": 3})
    assert created.status_code == 200, created.text
    assert http.get("/v1/retry-policy/p1").json()["retryLimit"] == 3
    listed = http.get("/v1/retry-policies").json()
    assert [p["name"] for p in listed["retryPolicies"]] == ["p1"]
    assert http.delete("/v1/retry-policy/p1").status_code == 200
    assert http.get("/v1/retry-policy/p1").status_code == 404


def test_armada_server_serves_the_gateway_and_lookout(tmp_path: Path) -> None:
    """``armada server`` alone (no scheduler): the gateway without reports or logs."""
    settings = dev_settings(tmp_path / "data")
    with (
        EmbeddedArmada(settings, api_only=True) as server,
        httpx2.Client(base_url=server.http_url, timeout=30) as http,
    ):
        create_queue(http)
        (job,) = submit(http, count=1)
        assert states(http, [job]) == ["QUEUED"]
        found = http.post("/api/v1/jobs", json={"filters": [], "order": None}).json()["jobs"]
        assert [j["jobId"] for j in found] == [job]
        assert http.get("/v1/scheduling-report").status_code == 404, "not served here"
        queues = http.get("/api/armada/queues").json()
        assert queues["schedulerInProcess"] is False

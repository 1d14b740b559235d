"""The Lookout v2 API against Armada's shapes (internal/lookout/swagger.yaml): filters and
their match types, order, skip/take, active job sets, groups and their aggregates, and one
job's spec, errors and runs."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from armada.dev.embedded import EmbeddedArmada
from armada.domain import events as ev
from tests.lookout.conftest import basic, create_queue, job_item
from tests.server.test_jobs_and_commands import run, scheduler_says

# Armada's required job fields (swagger.yaml, definitions.job.required).
REQUIRED = {
    "jobId", "queue", "owner", "jobSet", "cpu", "memory", "ephemeralStorage", "gpu", "priority",
    "submitted", "state", "lastTransitionTime", "duplicate", "annotations", "runs", "cluster",
    "runtimeSeconds",
}  # fmt: skip


def submit(http: httpx2.Client, job_set: str, user: str, **fields: Any) -> str:
    body = {"queue": "queue-a", "jobSetId": job_set, "jobRequestItems": [job_item(**fields)]}
    response = http.post("/v1/job/submit", json=body, headers=basic(user))
    assert response.status_code == 200, response.text
    job_id: str = response.json()["jobResponseItems"][0]["jobId"]
    return job_id


@pytest.fixture
def jobs(http: httpx2.Client, armada: EmbeddedArmada) -> list[str]:
    """Five jobs of queue-a: in set "alpha" (alice's, team red) three, one running and one
    failed; in set "beta" (bob's, team blue, Red) two, both cancelled."""
    create_queue(http)
    ids = [submit(http, "alpha", "alice", annotations={"team": "red"}) for _ in range(3)]
    ids += [submit(http, "beta", "bob", annotations={"team": "blue", "x": "Red"}) for _ in range(2)]
    scheduler_says(armada, *run(ids[0], "r-0"), job_set="alpha")
    failure = ev.FailureInfo(reason="OOMKilled", category="oom", exit_codes={"main": 137})
    scheduler_says(
        armada,
        *run(ids[1], "r-1"),
        ev.JobRunFailed(job_id=ids[1], run_id="r-1", failure=failure),
        ev.JobFailed(job_id=ids[1], run_id="r-1", failure=failure),
        job_set="alpha",
    )
    body = {"queue": "queue-a", "jobSetId": "beta"}
    assert http.post("/v1/jobset/cancel", json=body).status_code == 200
    return ids


def found(http: httpx2.Client, *filters: dict[str, Any], **more: Any) -> list[str]:
    response = http.post("/api/v1/jobs", json={"filters": list(filters), "order": None, **more})
    assert response.status_code == 200, response.text
    return [job["jobId"] for job in response.json()["jobs"]]


def test_filters_with_each_match_type(http: httpx2.Client, jobs: list[str]) -> None:
    def f(field: str, match: str, value: Any = None, annotation: bool = False) -> dict[str, Any]:
        return {"field": field, "match": match, "value": value, "isAnnotation": annotation}

    assert found(http, f("queue", "exact", "queue-a")) == sorted(jobs)
    assert found(http, f("queue", "exact", "queue-b")) == []
    assert found(http, f("jobSet", "startsWith", "al")) == sorted(jobs[:3])
    assert found(http, f("jobSet", "contains", "et")) == sorted(jobs[3:])
    assert found(http, f("jobSet", "contains", "ET")) == [], "matches are case-sensitive"
    assert found(http, f("jobSet", "startsWith", "%")) == [], "wildcards are literal"
    assert found(http, f("owner", "exact", "bob")) == sorted(jobs[3:])
    assert found(http, f("state", "anyOf", ["RUNNING", "FAILED"])) == sorted(jobs[:2])
    assert found(http, f("state", "exact", "QUEUED")) == [jobs[2]]
    assert found(http, f("jobId", "exact", jobs[4])) == [jobs[4]]
    assert found(http, f("cpu", "greaterThanOrEqualTo", 150)) == sorted(jobs)
    assert found(http, f("cpu", "greaterThan", 150)) == []
    assert found(http, f("cluster", "exact", "cluster-1")) == sorted(jobs[:2])
    assert found(http, f("node", "exact", "node-7"), f("state", "exact", "RUNNING")) == [jobs[0]]
    assert found(http, f("team", "exact", "red", True)) == sorted(jobs[:3])
    assert found(http, f("x", "exists", None, True)) == sorted(jobs[3:])
    assert found(http, f("x", "startsWith", "R", True)) == sorted(jobs[3:])
    assert found(http, f("team", "contains", "lu", True)) == sorted(jobs[3:])


def test_time_filters_order_and_pages(http: httpx2.Client, jobs: list[str]) -> None:
    everything = http.post(
        "/api/v1/jobs", json={"filters": [], "order": {"field": "submitted", "direction": "ASC"}}
    ).json()["jobs"]
    assert [j["jobId"] for j in everything] == jobs
    fourth = everything[3]["submitted"]
    since = {"field": "submitted", "match": "greaterThanOrEqualTo", "value": fourth}
    assert found(http, since) == sorted(jobs[3:])
    before = {"field": "submitted", "match": "lessThan", "value": fourth}
    assert found(http, before) == sorted(jobs[:3])
    newest = {"field": "submitted", "direction": "DESC"}
    pages = [found(http, order=newest, skip=skip, take=2) for skip in (0, 2, 4)]
    assert pages == [jobs[:2:-1][:2], [jobs[2], jobs[1]], [jobs[0]]]


def test_active_job_sets_only(http: httpx2.Client, jobs: list[str]) -> None:
    assert found(http, activeJobSets=True) == sorted(jobs[:3]), "beta has nothing left to run"


def test_a_job_in_armadas_shape(http: httpx2.Client, jobs: list[str]) -> None:
    job_filter = {"field": "jobId", "match": "exact", "value": jobs[1]}
    job = http.post("/api/v1/jobs", json={"filters": [job_filter]}).json()["jobs"][0]
    assert set(job) >= REQUIRED
    assert (job["state"], job["owner"], job["cpu"], job["memory"]) == (
        "FAILED",
        "alice",
        150,
        64 * 2**20,
    )
    assert (job["cluster"], job["node"], job["exitCode"]) == ("cluster-1", "node-7", 137)
    assert job["annotations"] == {"team": "red"}
    assert job["submitted"].endswith("Z") and job["lastActiveRunId"] == "r-1"
    (the_run,) = job["runs"]
    assert the_run["jobRunState"] == "RUN_FAILED" and the_run["failureCategory"] == "oom"
    assert the_run["started"] is not None and the_run["exitCode"] == 137
    error = http.post("/api/v1/jobError", json={"jobId": jobs[1]}).json()
    assert error == {"errorString": "OOMKilled"}
    run_error = http.post("/api/v1/jobRunError", json={"runId": "r-1"}).json()
    assert run_error == {"errorString": "OOMKilled"}
    assert http.post("/api/v1/jobRunError", json={"runId": "r-9"}).status_code == 404
    spec = http.post("/api/v1/jobSpec", json={"jobId": jobs[1]}).json()["job"]
    assert (spec["id"], spec["jobSetId"], spec["owner"]) == (jobs[1], "alpha", "alice")
    assert http.get("/health").text == "Health check passed"


def groups(http: httpx2.Client, **body: Any) -> list[dict[str, Any]]:
    response = http.post("/api/v1/jobGroups", json={"filters": [], "order": None, **body})
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["groups"]
    return result


def test_groups_with_state_counts_and_times(http: httpx2.Client, jobs: list[str]) -> None:
    by_set = groups(
        http,
        groupedField={"field": "jobSet"},
        aggregates=["state", "submitted"],
        order={"field": "count", "direction": "DESC"},
    )
    assert [(g["name"], g["count"]) for g in by_set] == [("alpha", 3), ("beta", 2)]
    assert by_set[0]["aggregates"]["state"] == {"QUEUED": 1, "RUNNING": 1, "FAILED": 1}
    assert by_set[1]["aggregates"]["state"] == {"CANCELLED": 2}
    first = http.post(
        "/api/v1/jobs", json={"filters": [], "order": {"field": "submitted", "direction": "ASC"}}
    )
    assert by_set[0]["aggregates"]["submitted"] == first.json()["jobs"][0]["submitted"]
    by_name = groups(
        http,
        groupedField={"field": "state"},
        aggregates=["state"],
        order={"field": "state", "direction": "ASC"},
        skip=1,
        take=2,
    )
    assert [g["name"] for g in by_name] == ["FAILED", "QUEUED"]
    queued_only = groups(
        http,
        filters=[{"field": "state", "match": "exact", "value": "CANCELLED"}],
        groupedField={"field": "owner"},
        aggregates=["state"],
    )
    assert queued_only == [{"name": "bob", "count": 2, "aggregates": {"state": {"CANCELLED": 2}}}]


def test_groups_by_annotation_and_last_transition(http: httpx2.Client, jobs: list[str]) -> None:
    by_team = groups(
        http,
        groupedField={"field": "team", "isAnnotation": True},
        aggregates=["lastTransitionTime"],
        order={"field": "lastTransitionTime", "direction": "DESC"},
    )
    # red's runs moved at the scheduler's (later) time, blue's jobs were cancelled now
    assert [g["name"] for g in by_team] == ["red", "blue"]
    latest = groups(
        http,
        groupedField={"field": "queue", "lastTransitionTimeAggregate": "latest"},
        aggregates=["lastTransitionTime"],
    )
    earliest = groups(
        http,
        groupedField={"field": "queue", "lastTransitionTimeAggregate": "earliest"},
        aggregates=["lastTransitionTime"],
    )
    assert (
        latest[0]["aggregates"]["lastTransitionTime"]
        > earliest[0]["aggregates"]["lastTransitionTime"]
    )
    with_team = groups(http, groupedField={"field": "x", "isAnnotation": True}, aggregates=[])
    assert with_team == [{"name": "Red", "count": 2, "aggregates": {}}]

"""What the UI needs beyond Armada's Lookout API: a job's events, the queues' fair-share
figures, logs and scheduling reports through the gateway (armada dev, one simulated cluster)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from armada.dev.embedded import EmbeddedArmada
from armada.waiting import wait_until
from tests.conftest import dev_settings
from tests.dev.test_end_to_end import FAST
from tests.lookout.conftest import create_queue, job_item, pod


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[httpx2.Client]:
    settings = dev_settings(tmp_path / "data", **{**FAST, "clusters": 1})
    with (
        EmbeddedArmada(settings) as running,
        httpx2.Client(base_url=running.http_url, timeout=30) as http,
    ):
        yield http


def state(http: httpx2.Client, job_id: str) -> str:
    found: str = http.post("/v1/job/status", json={"jobIds": [job_id]}).json()["jobStates"][job_id]
    return found


def test_a_job_runs_and_the_ui_can_tell_its_story(farm: httpx2.Client) -> None:
    http = farm
    create_queue(http)
    body: dict[str, Any] = {
        "queue": "queue-a",
        "jobSetId": "s",
        "jobRequestItems": [job_item(podSpec=pod(("sleep", "0.2")))],
    }
    (job,) = [i["jobId"] for i in http.post("/v1/job/submit", json=body).json()["jobResponseItems"]]
    wait_until(lambda: state(http, job) == "SUCCEEDED", what="the job to succeed")
    events = http.post("/api/armada/jobEvents", json={"jobId": job}).json()["events"]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "SubmitJob" and kinds[-1] == "JobSucceeded"
    assert "JobRunLeased" in kinds and "JobRunRunning" in kinds
    assert events[0]["user"] == "anonymous" and events[0]["created"].endswith("Z")
    assert "spec" not in events[0]["details"]
    missing = http.post("/api/armada/jobEvents", json={"jobId": "nope"})
    assert missing.status_code == 404
    report = http.get(f"/v1/job/{job}/scheduler-report")
    assert report.status_code == 200 and job in report.json()["report"]
    logs = http.post("/v1/binoculars/log", json={"jobId": job, "podNamespace": "default"})
    assert logs.status_code in (200, 404), logs.text
    assert http.post("/v1/binoculars/cordon", json={"nodeName": "n"}).status_code == 501


def test_queues_with_fair_share_figures(farm: httpx2.Client) -> None:
    http = farm
    create_queue(http)
    body = {"queue": "queue-a", "jobSetId": "s", "jobRequestItems": [job_item()] * 2}
    assert http.post("/v1/job/submit", json=body).status_code == 200

    def figures() -> dict[str, Any] | None:
        answer: dict[str, Any] = http.get("/api/armada/queues").json()
        (queue,) = answer["queues"]
        return answer if queue["pools"] else None

    answer = wait_until(figures, what="a scheduling round with queue-a")
    assert answer["schedulerInProcess"] is True
    (queue,) = answer["queues"]
    assert queue["name"] == "queue-a" and queue["priorityFactor"] == 1.0
    (pool,) = queue["pools"]
    assert set(pool) >= {"pool", "fairShare", "adjustedFairShare", "actualShare", "demand"}
    assert pool["fairShare"] == pytest.approx(1.0)
    assert answer["history"] and answer["history"][0]["queue"] == "queue-a"

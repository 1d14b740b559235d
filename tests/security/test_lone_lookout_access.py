"""A lone ``armada lookout`` checks each caller itself before it forwards: a job's or a queue's
scheduling report and a job's log need ``watch`` on the queue, as over gRPC; the queues page
shows a caller the shares of the queues they may watch. Lookout then asks the scheduler and the
Binoculars (here those of an ``armada dev`` on the same store) with its own credentials."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from armada.config.dev import DevSettings
from armada.dev.embedded import EmbeddedArmada
from armada.waiting import wait_until
from tests.dev.test_processes import ARMADA
from tests.lookout.conftest import job_item, pod
from tests.security.support import PASSWORDS, auth_settings
from tests.security.test_lookout_visibility import CLOSED, OPEN
from tests.security.test_secure_system import basic
from tests.server_process import free_port


def as_user(url: str, user: str | None) -> httpx2.Client:
    headers = {"Authorization": basic(user)} if user else {}
    return httpx2.Client(base_url=url, headers=headers, timeout=30)


def watched_by(name: str, group: str) -> dict[str, Any]:
    subjects = [{"kind": "Group", "name": group}]
    return {
        "name": name,
        "priorityFactor": 1,
        "permissions": [{"subjects": subjects, "verbs": ["watch"]}],
    }


@dataclass(frozen=True)
class Farm:
    """``armada dev`` with basic auth (its scheduler's reports and its Binoculars), a job
    leased in each queue (bob's group may watch OPEN only), and a lookout config for its store."""

    address: str
    data: Path
    config: Path
    jobs: dict[str, str]


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    data = tmp_path_factory.mktemp("lone") / "data"
    auth = auth_settings().model_dump(by_alias=True, mode="json")
    settings = DevSettings.model_validate(
        {
            "grpc": {"host": "127.0.0.1", "port": 0},
            "http": {"host": "127.0.0.1", "port": 0},
            "storage": {"dataDir": str(data)},
            "auth": auth,
            "clusters": 1,
            "scheduler": {"schedulePeriod": "100ms"},
            "executor": {"credentials": {"username": "exec", "password": PASSWORDS["exec"]}},
        }
    )
    with EmbeddedArmada(settings) as armada, as_user(armada.http_url, "alice") as alice:
        jobs = {}
        running = job_item(podSpec=pod(("sleep", "600")))  # in the rounds till the end
        for queue, group in ((OPEN, "users"), (CLOSED, "others")):
            assert alice.post("/v1/queue", json=watched_by(queue, group)).status_code == 200
            body = {"queue": queue, "jobSetId": "set", "jobRequestItems": [running]}
            reply = alice.post("/v1/job/submit", json=body)
            assert reply.status_code == 200, reply.text
            jobs[queue] = reply.json()["jobResponseItems"][0]["jobId"]
        store = armada.system.storage.store
        for job_id in jobs.values():
            wait_until(lambda j=job_id: (found := store.get_job(j)) and found.runs, what="a run")
        config = data.parent / "lookout.yaml"
        config.write_text(json.dumps({"auth": auth}))  # JSON is YAML
        yield Farm(address=armada.address, data=data, config=config, jobs=jobs)


@contextmanager
def lone_lookout_as(farm: Farm, identity: str) -> Iterator[str]:
    """A lone lookout on ``farm``'s store, presenting ``identity`` to its scheduler and
    Binoculars; its URL."""
    port = free_port()
    env = {
        **os.environ,
        "ARMADA_CREDENTIALS__USERNAME": identity,
        "ARMADA_CREDENTIALS__PASSWORD": PASSWORDS[identity],
        "ARMADA_SCHEDULER_POLL_INTERVAL": "100ms",
    }
    args = ["--config", str(farm.config), "--host", "127.0.0.1", "--http-port", str(port)]
    args += ["--data-dir", str(farm.data), "--scheduler-address", farm.address]
    args += ["--binoculars-address-pattern", farm.address]
    proc = subprocess.Popen(
        [*ARMADA, "lookout", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    try:
        assert "serving the web UI" in line, line
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()


@pytest.fixture(scope="module")
def lone_lookout(farm: Farm) -> Iterator[tuple[str, dict[str, str]]]:
    """Lookout's URL (it presents alice, an admin) and the jobs by queue."""
    with lone_lookout_as(farm, "alice") as url:
        yield url, farm.jobs


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/job/{job}/scheduler-report"),
        ("GET", "/v1/queue/{queue}/scheduler-report"),
        ("POST", "/v1/binoculars/log"),
    ],
)
def test_forwarded_calls_need_watch_on_the_queue(
    lone_lookout: tuple[str, dict[str, str]], method: str, path: str
) -> None:
    url, jobs = lone_lookout

    def call(user: str | None, queue: str) -> Any:
        body = {"jobId": jobs[queue]} if method == "POST" else None
        with as_user(url, user) as client:
            return client.request(method, path.format(job=jobs[queue], queue=queue), json=body)

    assert call(None, OPEN).status_code == 401
    denied = call("bob", CLOSED)
    assert denied.status_code == 403, denied.text
    assert "watch" in denied.json()["message"]
    for user, queue in (("bob", OPEN), ("alice", CLOSED)):
        allowed = call(user, queue)  # forwarded, with lookout's credentials
        assert allowed.status_code in ((200, 404) if method == "POST" else (200,)), allowed.text
        if allowed.status_code == 404:  # the fake cluster's pod is gone: its Binoculars says so
            assert "pod" in allowed.json()["message"], allowed.text


@pytest.mark.slow
def test_the_queues_page_shows_a_caller_the_shares_of_the_queues_they_may_watch(
    lone_lookout: tuple[str, dict[str, str]],
) -> None:
    url, _ = lone_lookout

    def pools(user: str) -> dict[str, list[Any]] | None:
        with as_user(url, user) as client:
            answer = client.get("/api/armada/queues").json()
        assert answer["schedulerProblem"] == "" or "not been asked" in answer["schedulerProblem"]
        found = {queue["name"]: queue["pools"] for queue in answer["queues"]}
        return found if found.get(OPEN) else None

    assert wait_until(lambda: pools("alice"), what="the shares")[CLOSED]
    seen_by_bob = pools("bob")
    assert seen_by_bob is not None and seen_by_bob[CLOSED] == []


@pytest.mark.slow
def test_the_whole_rounds_report_needs_watch_all_events(
    lone_lookout: tuple[str, dict[str, str]],
) -> None:
    url, _ = lone_lookout
    with as_user(url, "bob") as bob, as_user(url, "alice") as alice:
        denied = bob.get("/v1/scheduling-report")
        assert denied.status_code == 403 and "watch_all_events" in denied.json()["message"]
        allowed = alice.get("/v1/scheduling-report")
        assert allowed.status_code == 200 and allowed.json()["report"], allowed.text


@pytest.mark.slow
def test_a_lookout_whose_credentials_are_refused_says_so(farm: Farm) -> None:
    """bob lacks watch_all_events at the scheduler: lookout cannot poll the shares nor forward,
    and says why (a 503, not the caller's 403: the caller may watch the queue)."""
    with lone_lookout_as(farm, "bob") as url, as_user(url, "alice") as alice:

        def problem() -> str:
            said = str(alice.get("/api/armada/queues").json()["schedulerProblem"])
            return said if "refused" in said else ""

        said = wait_until(problem, what="lookout to say the scheduler refused it")
        assert f"the scheduler at {farm.address} refused lookout's credentials" in said
        report = alice.get(f"/v1/job/{farm.jobs[CLOSED]}/scheduler-report")
        assert report.status_code == 503, report.text
        assert "refused lookout's credentials" in report.json()["message"]

"""A lone ``armada lookout`` checks each caller itself before it forwards: a job's or a queue's
scheduling report and a job's log need ``watch`` on the queue, as over gRPC; the queues page
shows a caller the shares of the queues they may watch. Lookout then asks the scheduler and the
Binoculars (here those of an ``armada dev`` on the same store) with its own credentials."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
from collections.abc import Iterator
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
from tests.server_process import free_port


def basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{PASSWORDS[user]}".encode()).decode()


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


@pytest.fixture(scope="module")
def lone_lookout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """``armada dev`` (its scheduler's reports and its Binoculars) and a lone lookout on its
    store, both with alice (an admin) and bob (in group users); a job in each queue, leased.
    Yields lookout's URL and the jobs by queue."""
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
        port = free_port()
        config = data.parent / "lookout.yaml"
        config.write_text(json.dumps({"auth": auth}))  # JSON is YAML
        env = {
            **os.environ,
            "ARMADA_CREDENTIALS__USERNAME": "alice",
            "ARMADA_CREDENTIALS__PASSWORD": PASSWORDS["alice"],
            "ARMADA_SCHEDULER_POLL_INTERVAL": "100ms",
        }
        args = [
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--http-port",
            str(port),
            "--data-dir",
            str(data),
        ]
        args += ["--scheduler-address", armada.address]
        args += ["--binoculars-address-pattern", armada.address]
        proc = subprocess.Popen(
            [*ARMADA, "lookout", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        try:
            assert "serving the web UI" in line, line
            yield f"http://127.0.0.1:{port}", jobs
        finally:
            proc.terminate()
            proc.wait(30)
            proc.stdout.close()


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

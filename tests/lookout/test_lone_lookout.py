"""A lone ``armada lookout`` beside ``armada server``, ``armada scheduler`` and a standalone
``armada executor`` (process backend, with its Binoculars), each its own process on one store:
lookout shows the queues' shares from the scheduler's reports API, a queued job's scheduling
report, a running job's log from its cluster's Binoculars, and says so when the scheduler is
down rather than failing."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import grpc
import httpx2
import pytest
from armada_client.client import ArmadaClient

from armada.waiting import wait_until
from tests.api_builders import container, create_queue, item, pod_spec
from tests.dev.test_processes import (
    ARMADA,
    Processes,
    environment,
    processes,
    start,
    start_executor,
)
from tests.server_process import free_port, with_open_auth

__all__ = ["processes"]  # the fixture


def start_lookout(processes: Processes, data: str, env: dict[str, str], *args: str) -> str:
    """A lone lookout; its URL."""
    port = free_port()
    listen = ["--host", "127.0.0.1", "--http-port", str(port), "--data-dir", data]
    proc = subprocess.Popen(
        [*ARMADA, "lookout", *listen, *args],
        env=with_open_auth(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    processes.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    assert "(lookout) is serving the web UI on" in line, f"lookout did not start: {line!r}"
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
    return f"http://127.0.0.1:{port}"


def submit(client: ArmadaClient, command: str, cpu: str = "150m") -> str:
    work = container(command=["sh", "-c"], args=(command,), requests={"cpu": cpu, "memory": "64Mi"})
    reply = client.submit_jobs("queue-a", "s", [item(pod=pod_spec(work))])
    return str(reply.job_response_items[0].job_id)


def pools_of(http: httpx2.Client) -> dict[str, Any] | None:
    answer: dict[str, Any] = http.get("/api/armada/queues").json()
    (queue,) = answer["queues"]
    return answer if queue["pools"] else None


@pytest.mark.slow
def test_a_lone_lookout_asks_the_scheduler_and_the_binoculars(
    tmp_path: Path, processes: Processes
) -> None:
    data = str(tmp_path / "data")
    env = environment()
    api = start(processes, "server", "--data-dir", data, env=env)
    scheduler = start(processes, "scheduler", "--data-dir", data, env=env)
    scheduler_process = processes[-1]
    binoculars_port = free_port()
    start_executor(
        processes,
        scheduler,
        {**env, "ARMADA_BINOCULARS__HOST": "127.0.0.1"},
        *("--backend", "process", "--cluster-id", "far-away"),
        *("--binoculars-port", str(binoculars_port)),
    )
    lookout_env = {
        **env,
        "ARMADA_SCHEDULER_POLL_INTERVAL": "200ms",
        "ARMADA_BINOCULARS_ADDRESSES": json.dumps({"far-away": f"127.0.0.1:{binoculars_port}"}),
    }
    url = start_lookout(processes, data, lookout_env, "--scheduler-address", scheduler)
    with (
        grpc.insecure_channel(api) as channel,
        httpx2.Client(base_url=url, timeout=30) as http,
    ):
        client = ArmadaClient(channel)
        create_queue(client)
        running = submit(client, "echo hello from far away; sleep 60")
        queued = submit(client, "true", cpu="2")  # while the other holds 150m

        # The shares of the scheduler's rounds, polled by lookout.
        answer = wait_until(lambda: pools_of(http), timeout=60, what="queue-a's shares")
        assert answer["schedulerInProcess"] is False and answer["schedulerProblem"] == ""
        (pool,) = answer["queues"][0]["pools"]
        assert pool["pool"] == "default" and pool["fairShare"] == pytest.approx(1.0)
        assert pool["demand"] > 0
        assert answer["history"] and answer["history"][0]["queue"] == "queue-a"

        # A running job's log, from the Binoculars of the cluster its run went to.
        def logged() -> list[str] | None:
            reply = http.post("/v1/binoculars/log", json={"jobId": running})
            if reply.status_code == 200:
                lines = [line["line"] for line in reply.json().get("log", [])]
                return lines or None
            assert reply.status_code in (404, 503), reply.text  # not yet leased, not yet started
            return None

        assert wait_until(logged, timeout=60, what="the job's log") == ["hello from far away"]

        # A queued job's scheduling report and its queue's, from the scheduler.
        def report() -> str | None:
            reply = http.get(f"/v1/job/{queued}/scheduler-report")
            assert reply.status_code in (200, 404), reply.text  # 404: lookout has not seen it
            text = reply.json().get("report", "") if reply.status_code == 200 else ""
            return text if "not scheduled" in text else None

        text = wait_until(report, timeout=30, what="the queued job's report")
        assert f"Job {queued} is QUEUED" in text and "not scheduled" in text
        queue_report = http.get("/v1/queue/queue-a/scheduler-report")
        assert queue_report.status_code == 200 and queue_report.json()["report"]

        # The OpenAPI document lists what lookout forwards, so the UI offers it.
        paths = http.get("/api/openapi.json").json()["paths"]
        assert "/v1/job/{job_id}/scheduler-report" in paths and "/v1/binoculars/log" in paths

        # The scheduler gone: the page says so, the reports are a 503 naming it.
        scheduler_process.send_signal(signal.SIGTERM)
        scheduler_process.wait(30)

        def problem() -> str:
            reply = http.get("/api/armada/queues")
            assert reply.status_code == 200, reply.text
            return str(reply.json()["schedulerProblem"])

        said = wait_until(problem, timeout=30, what="lookout to notice the scheduler is gone")
        assert f"the scheduler at {scheduler} cannot be reached" in said
        assert pools_of(http) is not None, "the last shares known stay"
        down = http.get(f"/v1/job/{queued}/scheduler-report")
        assert down.status_code == 503, down.text
        assert f"the scheduler at {scheduler} cannot be reached" in down.json()["message"]

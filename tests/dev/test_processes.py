"""The components as separate processes sharing one store, as they are deployed:
`armada server` + `armada scheduler` + `armada executor`, each its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.client import ArmadaClient

from tests.api_builders import container, create_queue, event_types, events, item, pod_spec
from tests.server.test_crash_recovery import free_port

ARMADA = [sys.executable, "-m", "armada.cli.armada_main"]


def wait_for_port(address: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with grpc.insecure_channel(address) as channel:
                grpc.channel_ready_future(channel).result(timeout=1)
                return
        except grpc.FutureTimeoutError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {address}")


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_server_scheduler_and_executor_as_separate_processes(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    data = str(tmp_path / "data")
    api, scheduler = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "ARMADA_SCHEDULER__SCHEDULE_PERIOD": "200ms",
        "ARMADA_SCHEDULER__EXECUTOR_STALE_AFTER": "10s",
    }
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    processes.append(
        subprocess.Popen(
            [
                *ARMADA,
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                api.split(":")[1],
                "--data-dir",
                data,
            ],
            **quiet,
        )
    )
    processes.append(
        subprocess.Popen(
            [
                *ARMADA,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                scheduler.split(":")[1],
                "--data-dir",
                data,
            ],
            **quiet,
        )
    )
    wait_for_port(api)
    wait_for_port(scheduler)
    processes.append(
        subprocess.Popen(
            [*ARMADA, "executor", "--scheduler-address", scheduler, "--cluster-id", "far-away"],
            **quiet,
        )
    )
    with grpc.insecure_channel(api) as channel:
        client = ArmadaClient(channel)
        create_queue(client)
        job = item(pod=pod_spec(container(args=("sleep", "1s"))))
        job_id = client.submit_jobs("queue-a", "s", [job]).job_response_items[0].job_id
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = [k for _, k in event_types(events(client, "queue-a", "s"))]
            if seen[-1:] == ["succeeded"]:
                break
            time.sleep(0.2)
        assert seen == ["submitted", "queued", "leased", "pending", "running", "succeeded"]
        run = client.get_job_details([job_id]).job_details[job_id].job_runs[0]
        assert run.cluster == "far-away"
    for proc in processes:
        proc.send_signal(signal.SIGTERM)
    assert [proc.wait(15) for proc in processes] == [0, 0, 0], "each stops cleanly on SIGTERM"

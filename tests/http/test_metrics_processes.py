"""`armada server`, `armada scheduler` and `armada executor` as processes of their own: each
serves its own part of the metrics on the HTTP address it prints."""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

import grpc
from armada_client.client import ArmadaClient

from armada.waiting import wait_until
from tests.api_builders import container, create_queue, item, pod_spec
from tests.dev.test_processes import ARMADA, Processes, environment, processes  # noqa: F401
from tests.http.test_metrics import Series, scrape, scrape_until, value


def start(started: Processes, *args: str, env: dict[str, str]) -> tuple[str, str]:
    """Start a component; return the last word of its first line (the address it serves on,
    or the scheduler it reports to) and its HTTP URL."""
    proc = subprocess.Popen(
        [*ARMADA, *args, "--http-port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    started.append(proc)  # type: ignore[arg-type]
    assert proc.stdout is not None
    first = proc.stdout.readline()
    said: list[str] = []
    found = None
    while found is None and len(said) < 3:  # the http line comes after data: or at once
        said.append(proc.stdout.readline())
        found = re.search(r"http: (http://127\.0\.0\.1:\d+) ", said[-1])
    assert found is not None, f"{args[0]} did not say where it serves HTTP: {first!r} {said!r}"
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
    return first.rsplit(" ", 1)[1].strip(), found.group(1)


def names(series: Series) -> set[str]:
    return {name for name, _ in series}


def test_each_process_serves_its_own_part(tmp_path: Path, processes: Processes) -> None:  # noqa: F811
    data = ("--data-dir", str(tmp_path / "data"))
    env = {**environment(), "ARMADA_HTTP__HOST": "127.0.0.1"}
    local = ("--host", "127.0.0.1", "--port", "0")
    api, api_http = start(processes, "server", *data, *local, env=env)
    scheduler, scheduler_http = start(processes, "scheduler", *data, *local, env=env)
    executor_args = ("--scheduler-address", scheduler, "--binoculars-port", "0")
    _, executor_http = start(processes, "executor", *executor_args, env=env)
    with grpc.insecure_channel(api) as channel:
        client = ArmadaClient(channel)
        create_queue(client)
        job = item(pod=pod_spec(container(args=("sleep", "60s"))))
        client.submit_jobs("queue-a", "s", [job])
    submitted = {"grpc_service": "api.Submit", "grpc_method": "SubmitJobs", "grpc_code": "OK"}
    served = scrape_until(
        api_http,
        lambda s: value(s, "grpc_server_handled_total", **submitted) == 1,
        "the server to count the submission",
    )
    scheduled = scrape_until(
        scheduler_http,
        lambda s: value(s, "armada_scheduler_scheduled_jobs_total", queue="queue-a") == 1,
        "the scheduler to count the lease",
    )
    executing = scrape_until(
        executor_http,
        lambda s: value(s, "armada_executor_job_pod", queue="queue-a", phase="Running") == 1,
        "the executor to count the running pod",
    )
    # Each process serves its own part and not the others'.
    assert not any(n.startswith(("armada_scheduler_", "armada_executor_")) for n in names(served))
    assert not any(n.startswith("armada_executor_") for n in names(scheduled))
    assert value(scheduled, "grpc_server_started_total", grpc_method="LeaseJobRuns") >= 1
    assert not any(n.startswith(("armada_scheduler_", "grpc_server_")) for n in names(executing))
    assert value(executing, "armada_executor_available_node_count") >= 1
    wait_until(
        lambda: value(scrape(scheduler_http), "armada_scheduler_running_jobs") == 1,
        what="the scheduler's next round to see the job running",
    )

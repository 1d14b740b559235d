"""The components as separate processes sharing one store, as they are deployed:
`armada server` + `armada scheduler` + `armada executor`, each its own process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.client import ArmadaClient

from armada import __version__
from armada.waiting import wait_until
from tests.api_builders import container, create_queue, event_types, events, item, pod_spec
from tests.server_process import with_open_auth

ARMADA = [sys.executable, "-m", "armada.cli.armada_main"]
Processes = list[subprocess.Popen[bytes]]


def start(processes: Processes, *args: str, env: dict[str, str], port: str = "0") -> str:
    """Start a component (on a port of its choosing unless told); return its address."""
    proc = subprocess.Popen(
        [*ARMADA, *args, "--host", "127.0.0.1", "--port", port],
        env=with_open_auth(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    processes.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    assert "is serving on" in line, f"{args[0]} did not start: {line!r}"
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
    return line.rsplit(" ", 1)[1].strip()


def start_executor(processes: Processes, scheduler: str, env: dict[str, str], *args: str) -> None:
    """An executor; without Binoculars unless ``args`` give it a port (tests run side by side)."""
    if "--binoculars-port" not in args:
        args = (*args, "--binoculars-port", "0")
    processes.append(
        subprocess.Popen(
            [*ARMADA, "executor", "--scheduler-address", scheduler, *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )


@pytest.fixture
def processes() -> Iterator[Processes]:
    started: Processes = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


def environment(**extra: str) -> dict[str, str]:
    return with_open_auth({**os.environ, "ARMADA_SCHEDULER__SCHEDULE_PERIOD": "200ms", **extra})


def test_armada_dev_says_where_it_serves_how_to_try_it_and_how_to_stop_it(
    tmp_path: Path, processes: Processes
) -> None:
    data = tmp_path / "data"
    command = ["dev", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data)]
    proc = subprocess.Popen(
        # No simulated cluster, so no nodes either: that is no farm to refuse.
        [*ARMADA, *command, "--clusters", "0", "--nodes-per-cluster", "0"],
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    processes.append(proc)
    assert proc.stdout is not None
    lines = [proc.stdout.readline().decode() for _ in range(7)]
    address = lines[0].rsplit(" ", 1)[-1].strip()
    host, port = address.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0, "port 0 is replaced by the port it got"
    http = lines[2].split()[1]
    assert http.startswith("http://127.0.0.1:") and int(http.rsplit(":", 1)[1]) > 0
    assert lines == [
        f"Armada {__version__} (dev) is serving on {address}\n",
        f"  data: {data / 'armada.db'} (sqlite)\n",
        f"  http: {http} (/metrics, /healthz, /readyz)\n",
        f"  api:  {http}/api/openapi.json (REST and Lookout APIs)\n",
        f"  lookout: {http}/ (the web UI)\n",
        f"  try:  armadactl --armadaUrl {address} create queue test\n",
        "  stop: Ctrl-C\n",
    ]
    with grpc.insecure_channel(address) as channel:
        client = ArmadaClient(channel)
        create_queue(client, "test")
        assert [q.name for q in client.get_queues()] == ["test"], "the address printed works"
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    assert proc.wait(15) == 0


@pytest.fixture(params=["sqlite", "postgres"])
def store_args(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The command-line options that put processes on one store: the embedded one, or
    PostgreSQL."""
    if request.param == "sqlite":
        yield ("--data-dir", str(tmp_path / "data"))
    else:
        from tests.postgres_support import fresh_schema

        with fresh_schema() as url:
            yield ("--store", url)


@pytest.mark.slow
def test_server_scheduler_and_executor_as_separate_processes(
    store_args: tuple[str, str], processes: Processes
) -> None:
    env = environment(ARMADA_SCHEDULER__EXECUTOR_STALE_AFTER="10s")
    api = start(processes, "server", *store_args, env=env)
    scheduler = start(processes, "scheduler", *store_args, env=env)
    sampling = {**env, "ARMADA_UTILISATION_SAMPLE_INTERVAL": "100ms"}
    start_executor(processes, scheduler, sampling, "--cluster-id", "far-away")
    with grpc.insecure_channel(api) as channel:
        client = ArmadaClient(channel)
        create_queue(client)
        job = item(pod=pod_spec(container(args=("sleep", "1s"))))
        job_id = client.submit_jobs("queue-a", "s", [job]).job_response_items[0].job_id

        def kinds() -> list[str]:
            return [k for _, k in event_types(events(client, "queue-a", "s"))]

        wait_until(lambda: kinds()[-1:] == ["succeeded"], timeout=60)
        # The run's usage (one period: it lasts less than utilisationReportingInterval) comes
        # just before its end.
        assert kinds() == [
            "submitted",
            "queued",
            "leased",
            "pending",
            "running",
            "utilisation",
            "succeeded",
        ]
        run = client.get_job_details([job_id]).job_details[job_id].job_runs[0]
        assert run.cluster == "far-away"
    for proc in processes:
        proc.send_signal(signal.SIGTERM)
    assert [proc.wait(15) for proc in processes] == [0, 0, 0], "each stops cleanly on SIGTERM"


@pytest.mark.slow
def test_the_scheduler_killed_and_restarted_mid_run_loses_and_repeats_nothing(
    tmp_path: Path, processes: Processes
) -> None:
    data = str(tmp_path / "data")
    env = environment(ARMADA_HEARTBEAT_INTERVAL="500ms")
    api = start(processes, "server", "--data-dir", data, env=env)
    scheduler = start(processes, "scheduler", "--data-dir", data, env=env)
    start_executor(processes, scheduler, env)
    with grpc.insecure_channel(api) as channel:
        client = ArmadaClient(channel)
        create_queue(client)
        jobs = [item(pod=pod_spec(container(args=("sleep", "4s"))))] * 5
        ids = [r.job_id for r in client.submit_jobs("queue-a", "s", jobs).job_response_items]

        def states() -> list[int]:
            found = client.get_job_status(ids).job_states
            return [found[j] for j in ids]

        wait_until(lambda: states() == [2] * 5, timeout=60)  # 2 is RUNNING
        assert states() == [2] * 5
        killed = processes.pop(1)
        killed.send_signal(signal.SIGKILL)  # the scheduler dies while they run
        killed.wait(10)
        assert killed.stdout is not None
        killed.stdout.close()
        # Back on the same address: the executor keeps dialling it and reports what it has.
        start(processes, "scheduler", "--data-dir", data, env=env, port=scheduler.rsplit(":", 1)[1])
        wait_until(lambda: states() == [3] * 5, timeout=60)  # 3 is SUCCEEDED
        assert states() == [3] * 5, "every job finished"
        for job_id in ids:
            runs = client.get_job_details([job_id]).job_details[job_id].job_runs
            assert len(runs) == 1, f"job {job_id} ran {len(runs)} times"
        succeeded = [k for _, k in event_types(events(client, "queue-a", "s")) if k == "succeeded"]
        assert len(succeeded) == 5, "each success reported once"


@pytest.mark.slow
def test_a_standalone_executor_serves_the_logs_of_its_jobs(
    tmp_path: Path, processes: Processes
) -> None:
    """`armada executor --backend process` with Binoculars: armada-client's log client and
    armadactl (--binoculars-url) read a job's output from it."""
    from armada_client.log_client import JobLogClient
    from click.testing import CliRunner

    from armada.cli.armadactl.main import cli
    from tests.executor.test_logs import free_port

    data = str(tmp_path / "data")
    env = environment()
    api = start(processes, "server", "--data-dir", data, env=env)
    scheduler = start(processes, "scheduler", "--data-dir", data, env=env)
    binoculars = f"127.0.0.1:{free_port()}"
    port = binoculars.rsplit(":", 1)[1]
    env_executor = {**env, "ARMADA_BINOCULARS__HOST": "127.0.0.1"}
    start_executor(
        processes, scheduler, env_executor, "--backend", "process", "--binoculars-port", port
    )
    with grpc.insecure_channel(api) as channel:
        client = ArmadaClient(channel)
        create_queue(client)
        echo = container(command=["sh", "-c"], args=("echo hello from a process; echo bye",))
        job_id = client.submit_jobs("queue-a", "s", [item(pod=pod_spec(echo))])
        job_id = job_id.job_response_items[0].job_id
        wait_until(
            lambda: client.get_job_status([job_id]).job_states[job_id] == 3, timeout=60
        )  # SUCCEEDED
        assert client.get_job_status([job_id]).job_states[job_id] == 3
    lines = [line.line for line in JobLogClient(binoculars, job_id, disable_ssl=True).logs()]
    assert lines == ["hello from a process", "bye"]
    result = CliRunner().invoke(
        cli, ["--armadaUrl", api, "logs", job_id, "--binoculars-url", binoculars]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["hello from a process", "bye"]
    flags = ["--timestamps", "-f", "--interval", "50ms", "--binoculars-url", binoculars]
    stamped = CliRunner().invoke(cli, ["--armadaUrl", api, "logs", job_id, *flags])
    assert stamped.exit_code == 0, stamped.output
    lines = [line.split(" ", 1) for line in stamped.stdout.splitlines()]
    assert [text for _, text in lines] == ["hello from a process", "bye"], "each line once"
    rfc3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"
    assert all(re.fullmatch(rfc3339, stamp) for stamp, _ in lines)

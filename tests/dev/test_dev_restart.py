"""`armada dev` stopped or killed mid-run, then started again on the same data directory: no
run is started twice (docs/operations.md). With ``--backend process`` the jobs run on and are
taken back; with the fake backend, whose pods die with it, the runs are lost, visibly."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import grpc
import pytest
from armada_client.armada import job_pb2, submit_pb2
from armada_client.client import ArmadaClient

from tests.api_builders import container, create_queue, event_types, events, item, pod_spec
from tests.dev.test_end_to_end import FAST, running_dev, wait_until
from tests.dev.test_processes import Processes, environment, processes, start

__all__ = ["processes"]  # the fixture, used by name

SUCCEEDED = 3


def start_dev(processes: Processes, data: Path, **env: str) -> str:
    return start(
        processes,
        "dev",
        "--data-dir",
        str(data),
        "--backend",
        "process",
        "--nodes-per-cluster",
        "1",
        env=environment(**env),
    )


def kill_dev(processes: Processes) -> None:
    """SIGKILL, as a crash: nothing is stopped or cleaned up (the jobs are in sessions of
    their own, so they live on)."""
    dev = processes.pop()
    dev.send_signal(signal.SIGKILL)
    dev.wait(10)
    if dev.stdout is not None:
        dev.stdout.close()


def marker_job(marker: Path, seconds: int) -> object:
    script = f"echo start >> {marker}; sleep {seconds}; echo end >> {marker}"
    return item(pod=pod_spec(container(command=["sh", "-c"], args=(script,))))


def kinds(client: ArmadaClient) -> list[str]:
    return [k for _, k in event_types(events(client, "queue-a", "s"))]


def run_until_started(address: str, marker: Path, seconds: int) -> str:
    """Submit a job that appends to ``marker``, start, sleep, end; return once it started."""
    with grpc.insecure_channel(address) as channel:
        client = ArmadaClient(channel)
        create_queue(client)
        response = client.submit_jobs("queue-a", "s", [marker_job(marker, seconds)])
        wait_until(lambda: marker.exists() and "running" in kinds(client))
    return str(response.job_response_items[0].job_id)


@pytest.mark.slow
def test_a_job_survives_a_sigkilled_armada_dev_and_runs_once(
    tmp_path: Path, processes: Processes
) -> None:
    data, marker = tmp_path / "data", tmp_path / "marker"
    job_id = run_until_started(start_dev(processes, data), marker, 4)
    assert marker.read_text() == "start\n"
    kill_dev(processes)
    address = start_dev(processes, data)
    with grpc.insecure_channel(address) as channel:
        client = ArmadaClient(channel)

        def state() -> int:
            return int(client.get_job_status([job_id]).job_states[job_id])

        wait_until(lambda: state() == SUCCEEDED)
        assert state() == SUCCEEDED
        assert marker.read_text() == "start\nend\n", "started once, and ran to its end"
        runs = client.get_job_details([job_id]).job_details[job_id].job_runs
        assert len(runs) == 1
        assert kinds(client).count("succeeded") == 1


@pytest.mark.slow
def test_a_job_whose_process_died_with_armada_dev_is_run_again_visibly(
    tmp_path: Path, processes: Processes
) -> None:
    """The process gone without an exit status: its run is lost (the lease comes back) and
    the job is queued again for a new run, not silently started again as the old one."""
    data, marker = tmp_path / "data", tmp_path / "marker"
    address = start_dev(processes, data, ARMADA_SCHEDULER__MISSING_RUN_GRACE="1s")
    job_id = run_until_started(address, marker, 2)
    kill_dev(processes)
    for pid_file in (data / "process" / "cluster-1").glob("*.pid"):
        os.killpg(int(pid_file.read_text().split()[0]), signal.SIGKILL)  # the machine "rebooted"
    address = start_dev(processes, data, ARMADA_SCHEDULER__MISSING_RUN_GRACE="1s")
    with grpc.insecure_channel(address) as channel:
        client = ArmadaClient(channel)
        wait_until(lambda: "lease_returned" in kinds(client))
        assert kinds(client)[-2:] == ["running", "lease_returned"], "given back, visibly"
        assert client.get_job_status([job_id]).job_states[job_id] == submit_pb2.QUEUED
        (run,) = client.get_job_details([job_id]).job_details[job_id].job_runs
        assert run.state == job_pb2.RUNS_STATE_LEASE_RETURNED
        # (It waits: a returned lease avoids its node, and the process backend has one.)
        assert marker.read_text() == "start\n", "the lost run was not started again"


def test_a_fake_pod_lost_in_a_restart_becomes_a_new_run_not_a_silent_restart(
    tmp_path: Path,
) -> None:
    grace = {"scheduler": {**FAST["scheduler"], "missing_run_grace": "1s"}}
    with (
        running_dev(tmp_path, clusters=1, nodes_per_cluster=2, **grace) as armada,
        grpc.insecure_channel(armada.address) as channel,
    ):
        client = ArmadaClient(channel)
        create_queue(client)
        job = item(pod=pod_spec(container(args=("sleep", "120"))))
        job_id = client.submit_jobs("queue-a", "s", [job]).job_response_items[0].job_id
        wait_until(lambda: "running" in kinds(client))
        (first,) = client.get_job_details([job_id]).job_details[job_id].job_runs
    with (
        running_dev(tmp_path, clusters=1, nodes_per_cluster=2, **grace) as armada,
        grpc.insecure_channel(armada.address) as channel,
    ):
        client = ArmadaClient(channel)

        def runs() -> list[job_pb2.JobRunDetails]:
            return list(client.get_job_details([job_id]).job_details[job_id].job_runs)

        wait_until(lambda: len(runs()) == 2 and runs()[1].state == job_pb2.RUN_STATE_RUNNING)
        lost, again = runs()
        assert lost.run_id == first.run_id and lost.state == job_pb2.RUNS_STATE_LEASE_RETURNED
        assert again.run_id != first.run_id, "a new run, visibly"
        assert kinds(client).count("lease_returned") == 1

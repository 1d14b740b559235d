"""armadactl against a complete `armada dev` (scheduler, one simulated cluster of one node, and
Binoculars): the answers and the actions that need every component — logs from the pod, why a
job is or is not scheduled, what failed, and cancelling or preempting what runs on an executor
or a node."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from armada.cli.armadactl.main import cli
from armada.client import Client, ConnectionDetails
from armada.dev.embedded import EmbeddedArmada
from armada.waiting import wait_until
from tests.conftest import dev_settings
from tests.dev.test_end_to_end import FAST

JOB = """\
  - namespace: default
    annotations: {annotations}
    podSpec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:latest
          command: [sh, -c, "{command}"]
          resources:
            requests: {{cpu: {cpu}, memory: 64Mi}}
            limits: {{cpu: {cpu}, memory: 64Mi}}
"""
LONG = "sleep 60"
"""Runs until something stops it (the tests end long before)."""


@pytest.fixture
def armada(tmp_path: Path) -> Iterator[EmbeddedArmada]:
    settings = dev_settings(
        tmp_path / "data",
        **FAST,
        clusters=1,
        nodes_per_cluster=1,
        node_resources="cpu=8,memory=32Gi",
    )
    with EmbeddedArmada(settings) as running:
        yield running


@pytest.fixture
def api(armada: EmbeddedArmada) -> Iterator[Client]:
    with Client.connect(ConnectionDetails(url=armada.address)) as client:
        yield client


def run(armada: EmbeddedArmada, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--armadaUrl", armada.address, *args], catch_exceptions=False)


def submit(
    armada: EmbeddedArmada,
    tmp_path: Path,
    *commands: str,
    queue: str = "team",
    cpu: str = "100m",
    annotations: str = "{}",
) -> list[str]:
    """Submit one job per command (to job set e2e of ``queue``, created if need be)."""
    created = run(armada, "create", "queue", queue)
    assert created.exit_code == 0 or "already exists" in created.output, created.output
    jobs = "".join(JOB.format(command=c, cpu=cpu, annotations=annotations) for c in commands)
    path = tmp_path / f"{queue}-{time.monotonic_ns()}.yaml"
    path.write_text(f"queue: {queue}\njobSetId: e2e\njobs:\n{jobs}")
    result = run(armada, "submit", str(path), "-o", "json")
    assert result.exit_code == 0, result.output
    return [job["jobId"] for job in json.loads(result.stdout)]


def state(armada: EmbeddedArmada, job_id: str) -> str:
    return str(json.loads(run(armada, "get", "job", job_id, "-o", "json").stdout)["state"])


def wait_for_state(armada: EmbeddedArmada, wanted: str, *job_ids: str) -> None:
    for job_id in job_ids:
        wait_until(lambda j=job_id: state(armada, j) == wanted, what=f"{job_id} {wanted}")


def node_of(armada: EmbeddedArmada, job_id: str) -> str:
    job = json.loads(run(armada, "get", "job", job_id, "-o", "json").stdout)
    return str(job["jobRuns"][-1]["node"])


def preemption_requested(api: Client, queue: str = "team") -> set[str]:
    """Jobs of job set e2e whose preemption was asked for (the request is in the log at once;
    the preemption itself comes with a later scheduling round)."""
    return {
        m.message.preempting.job_id
        for m in api.job_set_events(queue, "e2e")
        if m.message.WhichOneof("events") == "preempting"
    }


def test_logs_and_reports_end_to_end(armada: EmbeddedArmada, tmp_path: Path) -> None:
    (small,) = submit(armada, tmp_path, "echo hello from the pod; sleep 1")
    (big,) = submit(armada, tmp_path, "sleep 1", cpu="20")

    wait_for_state(armada, "SUCCEEDED", small)
    logs = run(armada, "logs", small)
    assert logs.exit_code == 0 and "hello from the pod" in logs.stdout

    # The big job asks for 20 cpu; the only node has 8: the submit check rejects it.
    wait_for_state(armada, "REJECTED", big)
    report = run(armada, "get", "job-report", big)
    assert report.exit_code == 0 and "cpu" in report.stdout

    overview = run(armada, "get", "scheduling-report", "-v")
    assert overview.exit_code == 0 and "default" in overview.stdout
    queue = run(armada, "get", "queue-report", "team")
    assert queue.exit_code == 0 and "team" in queue.stdout


def test_logs_follow_a_running_job_to_its_end(armada: EmbeddedArmada, tmp_path: Path) -> None:
    (job,) = submit(armada, tmp_path, "echo first line; sleep 3")
    wait_for_state(armada, "RUNNING", job)
    so_far = run(armada, "logs", job).stdout
    assert "first line" in so_far and "exited" not in so_far
    followed = run(armada, "logs", job, "-f", "--interval", "100ms")
    assert followed.exit_code == 0, followed.output
    lines = followed.stdout.splitlines()
    assert lines.count("first line") == 1  # each line once, though polled many times
    assert lines[-1] == "fake: container main exited with code 0"  # written when it ended
    assert state(armada, job) == "SUCCEEDED"


def test_get_job_shows_runs_and_why_a_job_failed_or_was_rejected(
    armada: EmbeddedArmada, tmp_path: Path
) -> None:
    (failing,) = submit(
        armada, tmp_path, "sleep 1", annotations='{armadaproject.io/fake-exit-code: "3"}'
    )
    (rejected,) = submit(armada, tmp_path, "sleep 1", cpu="20")
    wait_for_state(armada, "FAILED", failing)
    shown = run(armada, "get", "job", failing)
    assert shown.exit_code == 0
    assert f"Job {failing}  FAILED" in shown.stdout
    assert "error:       container main exited with code 3" in shown.stdout
    runs = shown.stdout[shown.stdout.index("Runs") :]
    (row,) = [line for line in runs.splitlines() if "cluster-1-node-0" in line]
    assert row.split()[1:4] == ["FAILED", "cluster-1", "cluster-1-node-0"]

    wait_for_state(armada, "REJECTED", rejected)
    shown = run(armada, "get", "job", rejected)
    assert "error:       job requests cpu=20" in shown.stdout
    assert "more than any node can ever offer" in shown.stdout and "(no runs yet)" in shown.stdout
    data = json.loads(run(armada, "get", "job", rejected, "-o", "json").stdout)
    assert data["state"] == "REJECTED" and "cpu=20" in data["error"]


def test_preempt_job_preempts_a_running_job(armada: EmbeddedArmada, tmp_path: Path) -> None:
    (job,) = submit(armada, tmp_path, LONG)
    wait_for_state(armada, "RUNNING", job)
    result = run(armada, "preempt", "job", "team", "e2e", job, "maintenance")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Requested preemption of job {job}\n"
    wait_for_state(armada, "PREEMPTED", job)


def test_scheduling_report_filters(armada: EmbeddedArmada, tmp_path: Path) -> None:
    (job,) = submit(armada, tmp_path, LONG)
    wait_for_state(armada, "RUNNING", job)
    plain = run(armada, "get", "scheduling-report")
    assert plain.exit_code == 0 and plain.stdout.startswith("Pool default, cycle ")
    assert "queue team:" not in plain.stdout  # per-queue lines need -vv
    detailed = run(armada, "get", "scheduling-report", "-vv")
    assert "queue team: weight 1" in detailed.stdout
    by_queue = run(armada, "get", "scheduling-report", "--queue", "team")
    assert by_queue.exit_code == 0 and "queue team: weight 1" in by_queue.stdout
    assert "Recent rounds:" in by_queue.stdout and "nodes:" not in by_queue.stdout
    by_job = run(armada, "get", "scheduling-report", "--job-id", job)
    assert by_job.exit_code == 0 and f"Job {job} is RUNNING." in by_job.stdout
    assert "scheduled on node cluster-1-node-0 of executor cluster-1" in by_job.stdout
    both = run(armada, "get", "scheduling-report", "--queue", "team", "--job-id", job)
    assert both.exit_code == 2


def test_a_cordoned_executor_gets_no_new_jobs(armada: EmbeddedArmada, tmp_path: Path) -> None:
    assert run(armada, "cordon", "executor", "cluster-1", "maintenance").exit_code == 0
    (job,) = submit(armada, tmp_path, "sleep 1")
    wait_until(
        lambda: "cordoned" in run(armada, "get", "job-report", job).stdout,
        what="the report to say why",
    )
    assert state(armada, job) == "QUEUED"
    assert run(armada, "uncordon", "executor", "cluster-1").exit_code == 0
    wait_for_state(armada, "SUCCEEDED", job)


def test_delete_executor_forgets_its_cordon(armada: EmbeddedArmada, tmp_path: Path) -> None:
    assert run(armada, "cordon", "executor", "cluster-1").exit_code == 0
    (job,) = submit(armada, tmp_path, "sleep 1")
    wait_until(lambda: "cordoned" in run(armada, "get", "job-report", job).stdout, what="report")
    result = run(armada, "delete", "executor", "cluster-1", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"executor": "cluster-1", "settingsDeleted": True}
    wait_for_state(armada, "SUCCEEDED", job)  # the scheduler no longer sees it cordoned
    again = run(armada, "delete", "executor", "cluster-1")
    assert again.exit_code == 1
    assert again.stderr == "Error: executor 'cluster-1' has no settings\n"


def test_preempting_what_runs_on_an_executor(
    armada: EmbeddedArmada, api: Client, tmp_path: Path
) -> None:
    (job,) = submit(armada, tmp_path, LONG)
    wait_for_state(armada, "RUNNING", job)
    bare = run(armada, "preempt", "executor", "cluster-1")
    assert bare.exit_code == 2 and "-a/--all-priority-classes" in bare.stderr
    elsewhere = run(armada, "preempt", "executor", "cluster-1", "-a", "--pools", "gpu")
    assert elsewhere.exit_code == 0 and preemption_requested(api) == set()
    result = run(armada, "preempt", "executor", "cluster-1", "-a", "--pools", "gpu,default")
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == "Asked to preempt the jobs running on executor cluster-1 (pools: gpu,default)\n"
    )
    wait_for_state(armada, "PREEMPTED", job)


def test_cancelling_what_runs_on_an_executor(armada: EmbeddedArmada, tmp_path: Path) -> None:
    team = submit(armada, tmp_path, LONG, LONG)
    (other,) = submit(armada, tmp_path, LONG, queue="other")
    wait_for_state(armada, "RUNNING", *team, other)
    unmatched = run(armada, "cancel", "executor", "cluster-1", "-q", "team", "-p", "nope,other")
    assert unmatched.exit_code == 0
    assert {state(armada, j) for j in [*team, other]} == {"RUNNING"}  # no such priority class
    # -q splits on commas: "nope,other" is two queues.
    result = run(armada, "cancel", "executor", "cluster-1", "-q", "nope,other", "-a", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "executor": "cluster-1",
        "queues": ["nope", "other"],
        "priorityClasses": [],
        "pools": [],
        "cancelRequested": True,
    }
    assert state(armada, other) == "CANCELLED"
    assert {state(armada, j) for j in team} == {"RUNNING"}


def test_cancelling_and_preempting_what_runs_on_a_node(
    armada: EmbeddedArmada, api: Client, tmp_path: Path
) -> None:
    first, second = submit(armada, tmp_path, LONG, LONG)
    wait_for_state(armada, "RUNNING", first, second)
    node = node_of(armada, first)
    missing = run(armada, "cancel", "node", node, "-a")
    assert missing.exit_code == 2 and "-e" in missing.stderr
    wrong_node = run(armada, "cancel", "node", "no-such-node", "-e", "cluster-1", "-a")
    assert wrong_node.exit_code == 0 and {state(armada, first), state(armada, second)} == {
        "RUNNING"
    }
    cancelled = run(armada, "cancel", "node", node, "-e", "cluster-1", "-q", "team", "-a")
    assert cancelled.exit_code == 0, cancelled.output
    assert state(armada, first) == state(armada, second) == "CANCELLED"

    (third,) = submit(armada, tmp_path, LONG)
    wait_for_state(armada, "RUNNING", third)
    assert run(armada, "preempt", "node", node, "-e", "cluster-1", "-p", "nope").exit_code == 0
    assert preemption_requested(api) == set()
    # -p splits on commas too; every job here is of the default class, armada-default.
    preempted = run(armada, "preempt", "node", node, "-e", "cluster-1", "-p", "nope,armada-default")
    assert preempted.exit_code == 0, preempted.output
    assert preempted.stdout == (
        f"Asked to preempt the jobs running on node {node} of executor cluster-1 "
        "(priorityClasses: nope,armada-default)\n"
    )
    wait_for_state(armada, "PREEMPTED", third)


def test_cancel_and_preempt_queues_by_pool(
    armada: EmbeddedArmada, api: Client, tmp_path: Path
) -> None:
    first, second = submit(armada, tmp_path, LONG, LONG)
    wait_for_state(armada, "RUNNING", first, second)
    assert run(armada, "preempt", "queues", "team", "-a", "--pools", "gpu").exit_code == 0
    assert preemption_requested(api) == set()  # every job runs in pool default
    cancel = ("cancel", "queues", "team", "-s", "running", "-a")
    assert run(armada, *cancel, "--pools", "gpu").exit_code == 0
    assert {state(armada, first), state(armada, second)} == {"RUNNING"}
    result = run(armada, "preempt", "queues", "team", "-a", "--pools", "gpu,default", "-o", "json")
    assert json.loads(result.stdout) == {
        "queues": ["team"],
        "priorityClasses": [],
        "pools": ["gpu", "default"],
        "dryRun": False,
    }
    wait_for_state(armada, "PREEMPTED", first, second)
    (third,) = submit(armada, tmp_path, LONG)
    wait_for_state(armada, "RUNNING", third)
    assert run(armada, *cancel, "--pools", "default").exit_code == 0
    assert state(armada, third) == "CANCELLED"

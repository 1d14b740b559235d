"""armadactl against a complete `armada dev` (scheduler and simulated executors): the answers
that need every component — logs from the pod, and why a job is or is not scheduled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from armada.cli.armadactl.main import cli
from armada.dev.embedded import EmbeddedArmada
from tests.conftest import dev_settings
from tests.dev.test_end_to_end import FAST, wait_until

JOBS = """\
queue: team
jobSetId: e2e
jobs:
  - namespace: default
    podSpec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:latest
          command: [sh, -c, "echo hello from the pod; sleep 1"]
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {cpu: 100m, memory: 64Mi}
  - namespace: default
    podSpec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:latest
          args: [sleep, "1"]
          resources:
            requests: {cpu: "20", memory: 64Mi}
            limits: {cpu: "20", memory: 64Mi}
"""


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


def run(armada: EmbeddedArmada, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--armadaUrl", armada.address, *args], catch_exceptions=False)


def test_logs_and_reports_end_to_end(armada: EmbeddedArmada, tmp_path: Path) -> None:
    assert run(armada, "create", "queue", "team").exit_code == 0
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(JOBS)
    submitted = run(armada, "submit", str(jobs))
    assert submitted.exit_code == 0, submitted.output
    small, big = [line.split()[4] for line in submitted.stdout.splitlines()]

    wait_until(lambda: "SUCCEEDED" in run(armada, "get", "job", small).stdout, what="success")
    logs = run(armada, "logs", small)
    assert logs.exit_code == 0 and "hello from the pod" in logs.stdout

    # The big job asks for 20 cpu; the only node has 8: the submit check rejects it.
    wait_until(lambda: "REJECTED" in run(armada, "get", "job", big).stdout, what="rejection")
    report = run(armada, "get", "job-report", big)
    assert report.exit_code == 0 and "cpu" in report.stdout

    overview = run(armada, "get", "scheduling-report", "-v")
    assert overview.exit_code == 0 and "default" in overview.stdout
    queue = run(armada, "get", "queue-report", "team")
    assert queue.exit_code == 0 and "team" in queue.stdout


def test_a_cordoned_executor_gets_no_new_jobs(armada: EmbeddedArmada, tmp_path: Path) -> None:
    assert run(armada, "create", "queue", "team").exit_code == 0
    assert run(armada, "cordon", "executor", "cluster-1", "maintenance").exit_code == 0
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        JOBS.split("  - namespace: default", 2)[0]
        + "  - namespace: default"
        + JOBS.split("  - namespace: default", 2)[1]
    )
    submitted = run(armada, "submit", str(jobs))
    job_id = submitted.stdout.split()[4]
    wait_until(
        lambda: "cordoned" in run(armada, "get", "job-report", job_id).stdout,
        what="the report to say why",
    )
    assert "QUEUED" in run(armada, "get", "job", job_id).stdout
    assert run(armada, "uncordon", "executor", "cluster-1").exit_code == 0
    wait_until(lambda: "SUCCEEDED" in run(armada, "get", "job", job_id).stdout, what="success")


def test_preempting_what_runs_on_an_executor(armada: EmbeddedArmada, tmp_path: Path) -> None:
    assert run(armada, "create", "queue", "team").exit_code == 0
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        JOBS.split("  - namespace: default", maxsplit=1)[0]
        + "  - namespace: default"
        + JOBS.split("  - namespace: default")[1].replace("sleep 1", "sleep 60")
    )
    job_id = run(armada, "submit", str(jobs)).stdout.split()[4]
    wait_until(lambda: "RUNNING" in run(armada, "get", "job", job_id).stdout, what="running")
    result = run(armada, "preempt", "executor", "cluster-1")
    assert result.exit_code == 0, result.output
    wait_until(lambda: "PREEMPTED" in run(armada, "get", "job", job_id).stdout, what="preempted")

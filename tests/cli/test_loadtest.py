"""armadactl loadtest against armada dev: queues created, jobs spread, throughput reported,
and with --watch, the wait until every job has finished."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from armada_client.armada import submit_pb2

from armada.client import Client
from armada.waiting import wait_until
from tests.cli.conftest import Armadactl, job_file_text, write


def test_submits_across_queues_and_job_sets(armadactl: Armadactl, api: Client) -> None:
    api.create_queue(submit_pb2.Queue(name="lt-1", priority_factor=1))
    result = armadactl(
        "loadtest", "--jobs", "25", "--queues", "2", "--job-sets", "2", "--batch-size", "4",
        "--queue-prefix", "lt-", "--job-set-prefix", "run-", "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["jobs"], report["queues"], report["jobSets"]) == (25, 2, 4)
    assert report["queuesCreated"] == ["lt-0"] and report["jobsPerSecond"] > 0
    counts = {
        (queue, job_set): sum(1 for m in api.job_set_events(queue, job_set)) // 2
        for queue in ("lt-0", "lt-1")
        for job_set in ("run-0", "run-1")
    }
    assert counts == {
        ("lt-0", "run-0"): 7,
        ("lt-0", "run-1"): 6,
        ("lt-1", "run-0"): 6,
        ("lt-1", "run-1"): 6,
    }


def test_a_template_file(armadactl: Armadactl, api: Client, tmp_path: Path) -> None:
    template = write(tmp_path / "t.yaml", job_file_text().split("\n", 2)[2])  # jobs only
    result = armadactl(
        "loadtest", "--jobs", "3", "--template", str(template), "--job-set-prefix", "t-"
    )
    assert result.exit_code == 0, result.output
    assert "Submitted 3 jobs to 1 queue(s), 1 job set(s)" in result.stdout
    submitted = [
        m for m in api.job_set_events("loadtest-0", "t-0") if m.message.HasField("submitted")
    ]
    container = submitted[0].message.submitted.job.pod_spec.containers[0]
    assert container.name == "main" and container.args == ["sleep", "1"]


def test_watch_reports_when_every_job_finished(armadactl: Armadactl, api: Client) -> None:
    def cancel_when_submitted() -> None:
        wait_until(
            lambda: sum(1 for _ in api.job_set_events("loadtest-0", "w-0")) >= 10,
            timeout=20,
            what="the jobs submitted",
        )
        api.cancel_jobs("loadtest-0", "w-0")

    canceller = threading.Thread(target=cancel_when_submitted)
    canceller.start()
    result = armadactl("loadtest", "--jobs", "5", "--job-set-prefix", "w-", "--watch")
    canceller.join()
    assert result.exit_code == 0, result.output
    assert "All 5 jobs finished" in result.stdout and "Cancelled 5" in result.stdout


def test_watch_gives_up_at_the_timeout(armadactl: Armadactl) -> None:
    result = armadactl(
        "loadtest", "--jobs", "2", "--job-set-prefix", "x-", "--watch", "--timeout", "300ms"
    )
    assert result.exit_code == 1
    assert "Not every job finished before the timeout: Queued 2" in result.stdout

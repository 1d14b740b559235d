"""logs (Binoculars) and the scheduling reports, against fake servers, and the one clear line
when the server does not serve them (armada dev today)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from armada_client.armada import submit_pb2
from click.testing import Result

from armada.client import Client, ConnectionDetails, parse_job_file
from armada.dev.embedded import EmbeddedArmada
from tests.cli.conftest import Armadactl, job_file_text
from tests.cli.fakes import FakeBinoculars, FakeReports, serving
from tests.conftest import dev_settings


def test_scheduling_reports(offline: Armadactl) -> None:
    fake = FakeReports()
    with serving(fake) as address:
        run = Armadactl(address)
        result = run("get", "scheduling-report")
        assert (result.exit_code, result.stdout) == (0, "pool default: 3 jobs scheduled\n")
        assert run("get", "scheduling-report", "-vv", "--queue", "team-a").exit_code == 0
        assert run("get", "scheduling-report", "--job-id", "j1").exit_code == 0
        queue = run("get", "queue-report", "team-a", "-v")
        assert queue.stdout == "queue team-a: pool default: 3 jobs scheduled\n"
        job = run("get", "job-report", "j1", "-o", "json")
        assert json.loads(job.stdout) == {"report": "job j1: not scheduled: no node fits"}
        legacy = run("get", "job-report", "--jobId", "j2")
        assert legacy.stdout.startswith("job j2:")
        missing = run("get", "job-report", "unknown")
        assert (missing.exit_code, missing.stderr) == (
            1,
            "Error: job unknown not found in recent rounds\n",
        )
        both = run("get", "scheduling-report", "--queue", "a", "--job-id", "b")
        assert both.exit_code == 2
    first, by_queue, by_job = fake.requests[:3]
    assert first.verbosity == 0 and first.WhichOneof("filter") is None
    assert (by_queue.verbosity, by_queue.most_recent_for_queue.queue_name) == (2, "team-a")
    assert by_job.most_recent_for_job.job_id == "j1"
    assert fake.requests[3].queue_name == "team-a" and fake.requests[3].verbosity == 1


@pytest.fixture
def api_only(tmp_path: Path) -> Iterator[Armadactl]:
    """armadactl against `armada server` alone: no scheduler, so no reports and no logs."""
    with EmbeddedArmada(dev_settings(tmp_path / "api-only"), api_only=True) as server:
        yield Armadactl(server.address)


def test_reports_not_served_say_so(api_only: Armadactl) -> None:
    armadactl = api_only
    for args in (
        ("get", "scheduling-report"),
        ("get", "queue-report", "q"),
        ("get", "job-report", "j"),
    ):
        result = armadactl(*args)
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: scheduling reports are not available from the server at {armadactl.url}\n"
        )


def submit_one(api: Client) -> str:
    api.create_queue(submit_pb2.Queue(name="queue-a", priority_factor=1))
    (job,) = api.submit_jobs("queue-a", "set-1", parse_job_file(job_file_text()).items)
    return job


def test_logs_of_a_job(armadactl: Armadactl, api: Client) -> None:
    job = submit_one(api)
    fake = FakeBinoculars()
    fake.log(job, "default", "2026-01-01T10:00:00.1Z", "starting")
    fake.log(job, "default", "2026-01-01T10:00:00.25Z", "working")
    fake.log(job, "default", "2026-01-01T10:00:01Z", "done")
    with serving(fake) as address:
        result = armadactl("logs", job, "--binoculars-url", address)
        assert (result.exit_code, result.stdout) == (0, "starting\nworking\ndone\n")
        tail = armadactl("logs", job, "--binoculars-url", address, "--tail", "1", "--timestamps")
        assert tail.stdout == "2026-01-01T10:00:01Z done\n"
        since = armadactl(
            "logs", job, "--binoculars-url", address, "--since", "2026-01-01T10:00:00.2Z"
        )
        assert since.stdout == "working\ndone\n"
    assert fake.requests[0].pod_namespace == "default"  # looked up through the Jobs API
    assert fake.requests[1].log_options.tailLines == 1


def test_following_logs_until_the_job_ends(armadactl: Armadactl, api: Client) -> None:
    job = submit_one(api)
    fake = FakeBinoculars()
    fake.log(job, "default", "2026-01-01T10:00:00.5Z", "one")
    with serving(fake) as address:
        done = threading.Event()
        result: list[Result] = []

        def follow() -> None:
            result.append(
                armadactl("logs", job, "-f", "--interval", "50ms", "--binoculars-url", address)
            )
            done.set()

        reader = threading.Thread(target=follow)
        reader.start()
        time.sleep(0.3)
        fake.log(job, "default", "2026-01-01T10:00:00.5Z", "two, same timestamp")
        fake.log(job, "default", "2026-01-01T10:00:02.000000001Z", "three")
        fake.log(job, "default", "2026-01-01T10:00:02.000000001Z", "three")  # said twice
        fake.log(job, "default", "", "four, not stamped")
        time.sleep(0.3)
        assert not done.is_set()  # the job is still queued: keep following
        api.cancel_jobs("queue-a", "set-1")
        assert done.wait(20)
        reader.join()
    (outcome,) = result
    assert outcome.exit_code == 0
    assert outcome.stdout == "one\ntwo, same timestamp\nthree\nthree\nfour, not stamped\n"
    assert len(fake.requests) >= 3, "each line once, however many polls saw it"


def test_logs_not_served_say_so(api_only: Armadactl) -> None:
    with Client.connect(ConnectionDetails(url=api_only.url or "")) as api:
        job = submit_one(api)
    result = api_only("logs", job)
    assert result.exit_code == 1
    assert result.stderr == f"Error: logs are not available from this server ({api_only.url})\n"
    unknown = api_only("logs", "01nope")
    assert (unknown.exit_code, unknown.stderr) == (1, "Error: job '01nope' not found\n")


def test_logs_of_a_queued_job_say_why_there_are_none(armadactl: Armadactl, api: Client) -> None:
    job = submit_one(api)
    result = armadactl("logs", job)
    assert result.exit_code == 1
    assert f"job {job} has no pod that logs can be read from" in result.stderr


def test_logs_through_an_unreachable_binoculars(armadactl: Armadactl, api: Client) -> None:
    job = submit_one(api)
    result = armadactl("logs", job, "--binoculars-url", "127.0.0.1:1")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: cannot reach Binoculars at 127.0.0.1:1 (")

"""submit, cancel, reprioritize, preempt and get job, against an embedded armada dev."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from armada_client.armada import submit_pb2

from armada.client import Client
from armada.dev.embedded import EmbeddedArmada
from tests.cli.conftest import Armadactl, job_file_text, write

JOB_ID = re.compile(r"Submitted job with id (\w+) to job set (\S+)")


def submitted_ids(output: str) -> list[str]:
    return [match.group(1) for match in JOB_ID.finditer(output)]


def make_queue(api: Client, name: str = "queue-a", **fields: object) -> None:
    api.create_queue(submit_pb2.Queue(name=name, priority_factor=1, **fields))


def events(api: Client, queue: str, job_set: str) -> list[tuple[str, str]]:
    return [
        (m.message.WhichOneof("events"), getattr(m.message, m.message.WhichOneof("events")).job_id)
        for m in api.job_set_events(queue, job_set)
    ]


def test_submit_prints_each_job_id_and_the_jobs_exist(
    armadactl: Armadactl, api: Client, job_file: Path
) -> None:
    make_queue(api)
    result = armadactl("submit", str(job_file))
    assert result.exit_code == 0, result.output
    ids = submitted_ids(result.stdout)
    assert len(ids) == 2
    assert api.job_status(ids) == dict.fromkeys(ids, "QUEUED")
    assert [kind for kind, _ in events(api, "queue-a", "set-1")] == ["submitted", "queued"] * 2


# Armada's example/example-job-with-service.yaml (queue and job set renamed).
JOB_WITH_SERVICE = """\
queue: queue-a
jobSetId: set-1
jobs:
  - namespace: default
    priority: 0
    podSpec:
      terminationGracePeriodSeconds: 0
      restartPolicy: Never
      containers:
        - name: web-server
          image: nginx:latest
          ports:
            - containerPort: 80
              name: http
              protocol: TCP
          resources:
            limits:
              memory: 256Mi
              cpu: 0.5
            requests:
              memory: 256Mi
              cpu: 0.5
    services:
      - type: NodePort
        name: http
        ports:
          - 80
"""


def test_a_job_naming_its_service_is_accepted_with_the_generated_name(
    armadactl: Armadactl,
    api: Client,
    armada: EmbeddedArmada,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As Armada's server: custom service names are off by default, so the name is ignored
    with a warning, not the job refused."""
    make_queue(api)
    result = armadactl("submit", str(write(tmp_path / "service.yaml", JOB_WITH_SERVICE)))
    assert result.exit_code == 0, result.output
    (job_id,) = submitted_ids(result.stdout)
    (service,) = armada.system.storage.store.get_jobs([job_id])[job_id].spec.services
    assert (service.type, service.ports, service.name) == ("NodePort", (80,), "")
    assert "services[0].name 'http' ignored" in caplog.text


def test_submit_json_output(armadactl: Armadactl, api: Client, job_file: Path) -> None:
    make_queue(api)
    result = armadactl("submit", str(job_file), "-o", "json")
    data = json.loads(result.stdout)
    assert [d["jobSetId"] for d in data] == ["set-1", "set-1"]
    assert api.job_status([d["jobId"] for d in data]) == {d["jobId"]: "QUEUED" for d in data}


def test_dry_run_submits_nothing_and_prints_the_jobs(
    armadactl: Armadactl, api: Client, job_file: Path
) -> None:
    make_queue(api)
    result = armadactl("submit", str(job_file), "--dry-run")
    assert result.exit_code == 0
    printed = yaml.safe_load(result.stdout)
    assert printed["queue"] == "queue-a" and len(printed["jobs"]) == 2
    assert printed["jobs"][1]["podSpec"]["containers"][0]["resources"]["limits"]["cpu"] == "150m"
    assert events(api, "queue-a", "set-1") == []


def test_dry_run_needs_no_server(offline: Armadactl, job_file: Path) -> None:
    result = offline("--armadaUrl", "127.0.0.1:1", "submit", str(job_file), "--dry-run")
    assert result.exit_code == 0


def test_bad_files_exit_2_with_one_line(offline: Armadactl, tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.yaml", "queue: q\njobSetId: s\njobs:\n  - priority: [\n")
    result = offline("submit", str(broken), "--dry-run")
    assert result.exit_code == 2
    assert re.fullmatch(r"Error: .*broken\.yaml:\d+: invalid YAML: .*\n", result.stderr)
    typo = write(tmp_path / "typo.yaml", job_file_text().replace("image:", "imagee:"))
    result = offline("submit", str(typo))
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {typo}:10: jobs[0].podSpec.containers[0]: unknown field 'imagee' "
        "(did you mean 'image'?)\n"
    )
    missing = offline("submit", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "nope.yaml: no such file" in missing.stderr


def test_unknown_queue_is_named(armadactl: Armadactl, job_file: Path) -> None:
    result = armadactl("submit", str(job_file))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: queue 'queue-a' does not exist (create it with: armadactl create queue queue-a)\n"
    )


def test_the_servers_refusal_is_one_line_exit_1(
    armadactl: Armadactl, api: Client, tmp_path: Path
) -> None:
    make_queue(api)
    text = job_file_text().replace("limits: {cpu: 150m", "limits: {cpu: 300m")
    result = armadactl("submit", str(write(tmp_path / "j.yaml", text)))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "requests must equal limits for cpu" in result.stderr


def submit(api: Client, count: int = 2, job_set: str = "set-1") -> list[str]:
    from armada.client import parse_job_file

    jobs = parse_job_file(job_file_text(job_set=job_set, jobs=count))
    return api.submit_jobs("queue-a", job_set, jobs.items)


def test_cancel_job_and_job_set(armadactl: Armadactl, api: Client) -> None:
    make_queue(api)
    first, second, third = submit(api, 3)
    result = armadactl("cancel", "job", "queue-a", "set-1", first, "--reason", "not needed")
    assert result.exit_code == 0
    assert f"Requested cancellation for jobs {first}" in result.stdout
    assert api.job_status([first, second]) == {first: "CANCELLED", second: "QUEUED"}
    again = armadactl("cancel", "job", "queue-a", "set-1", first, second)
    assert again.exit_code == 0, "one of them matched"
    assert f"Requested cancellation for jobs {second}\nnothing matched job {first}" in again.stdout
    second = submit(api, 1)[0]
    result = armadactl("cancel", "job-set", "queue-a", "set-1", "--job-states", "queued")
    assert result.exit_code == 0
    assert api.job_status([second, third]) == {second: "CANCELLED", third: "CANCELLED"}
    bad = armadactl("cancel", "job-set", "queue-a", "set-1", "-s", "pending")
    assert bad.exit_code == 1 and "PENDING and RUNNING must be given together" in bad.stderr


def test_cancel_or_reprioritize_that_matches_nothing_says_so_and_fails(
    armadactl: Armadactl, api: Client
) -> None:
    """Unknown ids, another job set, finished jobs or a missing queue: not a success."""
    make_queue(api)
    (job_id,) = submit(api, 1)
    for args in (
        ("queue-a", "set-1", "01nosuchjob"),
        ("queue-a", "other-set", job_id),
        ("queue-a", "set-1", "not an id!"),
    ):
        result = armadactl("cancel", "job", *args)
        assert result.exit_code == 1, result.output
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"Error: nothing matched job {args[2]}: no such active job")
    missing = armadactl("cancel", "job", "no-queue", "set-1", job_id)
    assert (missing.exit_code, missing.stderr) == (1, "Error: could not find queue 'no-queue'\n")
    as_json = armadactl("cancel", "job", "queue-a", "set-1", "01nosuchjob", "-o", "json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout) == {"cancelledIds": []}
    assert api.job_status([job_id]) == {job_id: "QUEUED"}
    unknown = armadactl("reprioritize", "job", "queue-a", "set-1", "01nosuchjob", "3")
    assert unknown.exit_code == 1 and "Not reprioritized 01nosuchjob" in unknown.stdout
    empty_set = armadactl("reprioritize", "job-set", "queue-a", "other-set", "3")
    assert empty_set.exit_code == 1
    assert empty_set.stderr == (
        "Error: nothing matched: job set other-set of queue queue-a has no active job\n"
    )
    no_queue = armadactl("reprioritize", "job-set", "no-queue", "set-1", "3")
    assert (no_queue.exit_code, no_queue.stderr) == (1, "Error: could not find queue 'no-queue'\n")


def test_cancel_queues(armadactl: Armadactl, api: Client) -> None:
    make_queue(api, labels={"team": "a"})
    make_queue(api, "queue-b", labels={"team": "b"})
    ids = submit(api, 2)
    usage = armadactl("cancel", "queues", "queue-a", "-s", "queued")
    assert usage.exit_code == 2 and "-a/--all-priority-classes" in usage.stderr
    dry = armadactl("cancel", "queues", "-l", "team=a", "-s", "queued", "-a", "--dry-run")
    assert dry.stdout.splitlines() == [
        "Cancelling jobs on the following queues: (DRY RUN)",
        "queue-a",
    ]
    assert set(api.job_status(ids).values()) == {"QUEUED"}
    other = armadactl("cancel", "queues", "queue-a", "-s", "queued", "-p", "other-class")
    assert other.exit_code == 0 and set(api.job_status(ids).values()) == {"QUEUED"}
    result = armadactl("cancel", "queues", "queue-a", "-s", "queued,running", "-a")
    assert result.exit_code == 0 and "queue-a" in result.stdout
    assert set(api.job_status(ids).values()) == {"CANCELLED"}
    unknown = armadactl("cancel", "queues", "nope", "-s", "queued", "-a")
    assert unknown.exit_code == 1 and unknown.stderr == "Error: queue 'nope' does not exist\n"


def test_reprioritize(armadactl: Armadactl, api: Client) -> None:
    make_queue(api)
    first, second = submit(api, 2)
    result = armadactl("reprioritize", "job", "queue-a", "set-1", first, "5")
    assert result.exit_code == 0 and f"Reprioritized to 5: {first}" in result.stdout
    whole = armadactl("reprioritise", "job-set", "queue-a", "set-1", "7", "-o", "json")
    assert json.loads(whole.stdout) == {"results": {first: "", second: ""}}
    kinds = [kind for kind, _ in events(api, "queue-a", "set-1")]
    assert kinds.count("reprioritized") == 3
    api.cancel_jobs("queue-a", "set-1", [first])
    refused = armadactl("reprioritize", "job", "queue-a", "set-1", first, "1")
    assert refused.exit_code == 1 and "Not reprioritized" in refused.stdout


def test_preempt(armadactl: Armadactl, api: Client) -> None:
    make_queue(api)
    (job,) = submit(api, 1)
    result = armadactl("preempt", "job", "queue-a", "set-1", job, "maintenance")
    assert result.exit_code == 1  # queued, not running: nothing to preempt
    assert f"Not preempted {job}: the job is not running" in result.stdout
    queues = armadactl("preempt", "queues", "queue-a", "-a")
    assert queues.exit_code == 0 and queues.stdout.splitlines()[-1] == "queue-a"


def test_get_job(armadactl: Armadactl, api: Client) -> None:
    make_queue(api)
    job, other = submit(api, 2)
    api.cancel_jobs("queue-a", "set-1", [job], "done with it")
    result = armadactl("get", "job", job)
    assert result.exit_code == 0
    assert f"Job {job}  CANCELLED" in result.stdout
    assert "queue:       queue-a" in result.stdout and "(no runs yet)" in result.stdout
    data = json.loads(armadactl("get", "job", job, other, "-o", "json").stdout)
    assert [(d["jobId"], d["state"]) for d in data] == [(job, "CANCELLED"), (other, "QUEUED")]
    missing = armadactl("get", "job", "01nope")
    assert missing.exit_code == 1 and missing.stderr == "Error: job '01nope' not found\n"

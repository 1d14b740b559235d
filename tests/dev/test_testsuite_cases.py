"""Armada's own testsuite cases, submitted as written to `armada dev --backend process`, end
as their YAML expects. The cases are copies (tests/dev/testsuite/, from Armada's
testsuite/testcases), so that the test runs without Armada's source at hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from armada_client.client import ArmadaClient

from armada.client.job_files import parse_job_file
from armada.dev.embedded import EmbeddedArmada
from armada.executor.proclimits import Confinement
from tests.api_builders import create_queue, events
from tests.conftest import dev_settings
from tests.dev.test_end_to_end import FAST, wait_until

CASES = Path(__file__).parent / "testsuite"
TERMINAL = {"succeeded", "failed", "cancelled", "preempted"}
# The namespaces of Armada's e2e setup: default, and the one its jobs name.
NAMESPACES = ["default", "personal-anonymous"]


def load_case(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    jobs, expected = yaml.safe_load_all((CASES / name).read_text())
    return jobs, expected


@pytest.fixture(scope="module")
def armada(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedArmada]:
    data = tmp_path_factory.mktemp("testsuite") / "data"
    executor = {**FAST["executor"], "process": {"namespaces": NAMESPACES}}
    settings = dev_settings(
        data, backend="process", clusters=1, scheduler=FAST["scheduler"], executor=executor
    )
    with EmbeddedArmada(settings) as running:
        yield running


def submit_case(client: ArmadaClient, name: str, jobs: dict[str, Any]) -> list[str]:
    """The case's jobs, numBatches x batchSize of them, as `armadactl submit` would send."""
    document = {"queue": jobs["queue"], "jobSetId": name, "jobs": jobs["jobs"]}
    job_file = parse_job_file(yaml.safe_dump(document))
    ids = []
    for _ in range(jobs.get("numBatches", 1) * jobs.get("batchSize", 1)):
        response = client.submit_jobs(job_file.queue, job_file.job_set_id, job_file.items)
        ids += [item.job_id for item in response.job_response_items]
    return ids


def ended(client: ArmadaClient, queue: str, job_set: str, job_id: str) -> list[Any]:
    messages = [m.message for m in events(client, queue, job_set)]
    mine = [m for m in messages if getattr(m, m.WhichOneof("events")).job_id == job_id]
    kinds = [m.WhichOneof("events") for m in mine]
    return mine if kinds and kinds[-1] in TERMINAL else []


def matches(message: Any, expected: dict[str, Any]) -> bool:
    """Armada's testsuite match: the event's kind, and every field the YAML gives."""
    ((kind, fields),) = expected.items()
    if message.WhichOneof("events") != kind:
        return False
    event = getattr(message, kind)
    names = {"failureCategory": "failure_category", "reason": "reason"}
    return all(getattr(event, names[k]) == v for k, v in (fields or {}).items())


def in_order(messages: list[Any], expected: list[dict[str, Any]]) -> bool:
    """Every expected event appears, in the order given (others may come between)."""
    remaining = iter(messages)
    return all(any(matches(m, want) for m in remaining) for want in expected)


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [
        "failure_1x1.yaml",
        "failure_oom_1x1.yaml",
        "categorization_oom.yaml",
        "categorization_user_error.yaml",
        "failure_namespace.yaml",
    ],
)
def test_armadas_testsuite_case_ends_as_its_yaml_expects(armada: EmbeddedArmada, case: str) -> None:
    if "oom" in case and Confinement("auto", "armada-cluster-1").kind == "rlimit":
        pytest.skip("no cgroup here: an rlimit cannot see memory written to /dev/shm")
    jobs, expected = load_case(case)
    name = case.removesuffix(".yaml")
    with grpc.insecure_channel(armada.address) as channel:
        client = ArmadaClient(channel)
        try:
            create_queue(client, jobs["queue"])
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.ALREADY_EXISTS  # an earlier case made it
        ids = submit_case(client, name, jobs)
        for job_id in ids:
            seen = wait_until(
                lambda job_id=job_id: ended(client, jobs["queue"], name, job_id), timeout=60
            )
            kinds = [m.WhichOneof("events") for m in seen]
            assert in_order(seen, expected["expectedEvents"]), (case, kinds)
            assert kinds[-1] == "failed", kinds
    for leftover in Path("/dev/shm").glob("fill"):
        leftover.unlink(missing_ok=True)  # the oom case's file; on Kubernetes it goes with the pod

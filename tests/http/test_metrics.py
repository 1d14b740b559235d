"""Metrics of a running ``armada dev``, scraped from its HTTP side (a real listener) while jobs
are submitted, scheduled, preempted and failed: the named metrics move, and their labels are
bounded (no job or run id, and no more series for more jobs)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import grpc
import pytest
from armada_client.armada import event_pb2
from armada_client.client import ArmadaClient
from armada_client.typings import JobState
from prometheus_client.parser import text_string_to_metric_families

from armada.dev.embedded import EmbeddedArmada
from armada.waiting import wait_until
from tests.api_builders import container, create_queue, events, item, pod_spec
from tests.dev.test_end_to_end import running_dev

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Series:
    with urlopen(f"{url}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    series: Series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return series


def scrape_until(url: str, ready: Callable[[Series], bool], what: str) -> Series:
    """Scrape until ``ready`` holds of what is scraped; return that scrape."""
    found: list[Series] = []

    def check() -> bool:
        found[:] = [scrape(url)]
        return ready(found[0])

    wait_until(check, what=what)
    return found[0]


def value(series: Series, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in series.items() if n == name and wanted <= set(ls))


def job(seconds: str, cpu: str = "1", **fields: Any) -> Any:
    requests = {"cpu": cpu, "memory": "1Gi"}
    pod = pod_spec(container(args=("sleep", seconds), requests=requests))
    pod.priorityClassName = fields.pop("priority_class", "armada-preemptible")
    return item(pod=pod, **fields)


@pytest.fixture
def armada(tmp_path: Path) -> Iterator[EmbeddedArmada]:
    """Two nodes of 2 CPUs: room for four 1-CPU jobs."""
    farm = {"clusters": 1, "nodes_per_cluster": 2, "node_resources": "cpu=2,memory=16Gi"}
    with running_dev(tmp_path, **farm) as running:
        yield running


def test_metrics_move_as_jobs_are_scheduled_preempted_and_fail(
    armada: EmbeddedArmada, client: ArmadaClient
) -> None:
    url = armada.http_url
    create_queue(client, "queue-a")
    create_queue(client, "queue-b")
    # Queue a fills the farm (4 CPUs) with preemptible jobs; 2 more wait.
    submitted_a = client.submit_jobs("queue-a", "s", [job("600s")] * 6).job_response_items
    a_ids = [r.job_id for r in submitted_a]
    seen = scrape_until(
        url,
        lambda s: value(s, "armada_scheduler_running_jobs", queue="queue-a") == 4,
        "queue-a's four jobs to run, as the round sees them",
    )
    labels_a = {"pool": "default", "queue": "queue-a", "priority_class": "armada-preemptible"}
    assert value(seen, "armada_scheduler_scheduled_jobs_total", **labels_a, type="new") == 4
    assert value(seen, "armada_queue_size", queue="queue-a") == 2
    assert value(seen, "armada_scheduler_queued_jobs", queue="queue-a") == 2
    assert value(seen, "armada_queue_resource_queued", queue="queue-a", resourceType="cpu") == 2
    assert value(seen, "armada_scheduler_actual_share", pool="default", queue="queue-a") == 1.0
    assert value(seen, "armada_scheduler_fair_share", pool="default", queue="queue-a") == 1.0
    assert value(seen, "armada_cluster_capacity", cluster="cluster-1", resourceType="cpu") == 4
    assert value(seen, "armada_executor_available_node_count", cluster="cluster-1") == 2
    assert value(seen, "armada_scheduler_schedule_cycle_times_count") >= 1
    assert value(seen, "armada_scheduler_job_queued_duration_seconds_count", queue="queue-a") == 4
    submitted = {"grpc_service": "api.Submit", "grpc_method": "SubmitJobs"}
    assert value(seen, "grpc_server_handled_total", **submitted, grpc_code="OK") == 1

    # Queue b arrives: fair share is half each, so two of queue a's jobs are preempted.
    client.submit_jobs("queue-b", "s", [job("600s")] * 2)
    running_b = {"queue": "queue-b", "phase": "Running"}
    run_times = "armada_scheduler_job_run_completed_duration_seconds_count"
    after = scrape_until(
        url,
        lambda s: (
            value(s, "armada_scheduler_running_jobs", queue="queue-b") == 2
            and value(s, "armada_executor_job_pod", **running_b) == 2
            # the preempted runs' ends are counted as the scheduler reads them from the log
            and value(s, run_times, queue="queue-a") == 2
        ),
        "queue-b's jobs to run in place of two of queue-a's",
    )
    assert value(after, "armada_scheduler_preempted_jobs_total", **labels_a, type="fair-share") == 2
    assert value(after, "armada_scheduler_fair_share", queue="queue-b") == 0.5
    assert value(after, "armada_scheduler_actual_share", queue="queue-a") == 0.5
    assert value(after, "armada_scheduler_adjusted_fair_share", queue="queue-b") == 0.5
    assert value(after, "armada_scheduler_demand", queue="queue-b") == 0.5
    cpu_b = {"queue": "queue-b", "resourceType": "cpu"}
    assert value(after, "armada_queue_resource_allocated", **cpu_b) == 2
    assert value(after, "armada_executor_job_pod_resource_request", **cpu_b, phase="Running") == 2

    # A user's preemption is counted as requested; a failure by its category.
    states = client.get_job_status(a_ids).job_states
    running_a = next(j for j in a_ids if states[j] == 2)  # RUNNING
    client.preempt_jobs("queue-a", "s", running_a)
    client.cancel_jobset("queue-a", "s", [JobState.QUEUED])  # leaves room for the failing job
    failing = job("100ms", cpu="100m", annotations={"armadaproject.io/fake-exit-code": "3"})
    client.submit_jobs("queue-b", "f", [failing])
    final = scrape_until(
        url,
        lambda s: (
            value(s, "armada_scheduler_failed_jobs_total", queue="queue-b") == 1
            and value(s, "armada_scheduler_preempted_jobs_total", **labels_a, type="requested") == 1
        ),
        "the failing job to fail, and the preemption to be counted",
    )
    with pytest.raises(grpc.RpcError) as refused:
        client.submit_jobs("no-such-queue", "s", [job("1s")])
    code = refused.value.code().name
    assert code != "OK"
    assert events(client, "queue-b", "f"), "an event stream, read to its end"
    client.submit_jobs("queue-a", "s", [job("600s")] * 3)  # no room: they wait
    final = scrape_until(
        url,
        lambda s: value(s, "armada_queue_size", queue="queue-a", state="validated") >= 1,
        "some of queue-a's new jobs to wait, validated",
    )
    assert value(final, "armada_queue_size", queue="queue-b") == 0
    assert value(final, "armada_api_open_event_streams") == 0
    assert value(final, "grpc_server_handled_total", **submitted, grpc_code=code) == 1
    assert_bounded(final, a_ids)
    missing = dashboard_metrics() - {name for name, _ in final}
    assert not missing, f"the Grafana dashboard queries metrics that are not served: {missing}"


DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "armada.json"


def dashboard_metrics() -> set[str]:
    """The metric names in the dashboard's queries (panels' and variables')."""
    board = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in board["panels"] for t in p["targets"]]
    queries += [v["definition"] for v in board["templating"]["list"] if "definition" in v]
    assert all(p["targets"] for p in board["panels"])
    return {m for q in queries for m in re.findall(r"\b(?:armada|grpc_server)_[a-z_]+", q)}


def assert_bounded(series: Series, job_ids: list[str]) -> None:
    names = {name for _, labels in series for name, _ in labels}
    assert not names & {"job_id", "jobId", "run_id", "runId", "job", "node"}
    values = {v for _, labels in series for _, v in labels}
    assert not values & set(job_ids)


def test_series_do_not_grow_with_the_number_of_jobs(
    armada: EmbeddedArmada, client: ArmadaClient
) -> None:
    url = armada.http_url
    create_queue(client, "queue-a")

    def settled(n: int, queued: int) -> Series:
        client.submit_jobs("queue-a", "s", [job("600s")] * n)
        return wait_until(
            lambda: (
                (s := scrape(url))
                and value(s, "armada_executor_job_pod", queue="queue-a", phase="Running") == 4
                and value(s, "armada_scheduler_running_jobs", queue="queue-a") == 4
                and value(s, "armada_queue_size", queue="queue-a", state="validated") == queued
                and s
            ),
            what="the round to settle",
        )

    few = settled(10, queued=6)
    many = settled(200, queued=206)
    assert_bounded(many, [])

    # gRPC series follow the methods called (an executor's first report may come later), not
    # the jobs: the rest must be the same series.
    def jobs_series(series: Series) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        return {key for key in series if not key[0].startswith("grpc_server_")}

    assert jobs_series(many) == jobs_series(few)


def test_open_event_streams_are_counted(armada: EmbeddedArmada, client: ArmadaClient) -> None:
    url = armada.http_url
    create_queue(client, "queue-a")
    client.submit_jobs("queue-a", "s", [job("600s")])
    stream = client.event_stub.GetJobSetEvents(
        event_pb2.JobSetRequest(queue="queue-a", id="s", watch=True)
    )
    reader = threading.Thread(target=lambda: [None for _ in _until_cancelled(stream)])
    reader.start()
    try:
        scrape_until(
            url,
            lambda s: value(s, "armada_api_open_event_streams") == 1,
            "the stream to be counted",
        )
    finally:
        stream.cancel()
        reader.join(timeout=10)
    ended = scrape_until(
        url,
        lambda s: value(s, "armada_api_open_event_streams") == 0,
        "the stream's end to be counted",
    )
    watched = {"grpc_service": "api.Event", "grpc_method": "GetJobSetEvents"}
    assert value(ended, "grpc_server_handled_total", **watched) == 1
    assert value(ended, "grpc_server_handling_seconds_count", **watched) == 1


def _until_cancelled(stream: Any) -> Iterator[Any]:
    try:
        yield from stream
    except grpc.RpcError:
        return


def test_the_executors_of_armada_dev_share_one_family_per_metric(tmp_path: Path) -> None:
    """Two simulated clusters in one registry: each metric is declared once (Prometheus
    rejects a second TYPE line for a name), with a series per cluster."""
    farm = {"clusters": 2, "nodes_per_cluster": 3, "node_resources": "cpu=2,memory=16Gi"}
    with running_dev(tmp_path, **farm) as armada:
        series = scrape_until(
            armada.http_url,
            lambda s: value(s, "armada_executor_available_node_count") == 6,
            "both clusters' nodes to be listed",
        )
        with urlopen(f"{armada.http_url}/metrics", timeout=10) as reply:
            text = reply.read().decode()
    declared = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(declared) == len(set(declared)), "a metric declared twice"
    nodes = "armada_executor_available_node_count"
    assert value(series, nodes, cluster="cluster-1") == value(series, nodes, cluster="cluster-2")

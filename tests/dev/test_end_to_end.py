"""`armada dev` end to end, driven with the unmodified armada-client: jobs really run on the
simulated clusters, through the scheduler and the executors, over gRPC; on the embedded store
and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from armada_client.armada import event_pb2
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from armada.waiting import wait_until
from tests.api_builders import container, create_queue, event_types, events, item, pod_spec
from tests.conftest import dev_settings
from tests.postgres_support import fresh_schema

FAST = {
    "scheduler": {
        "schedule_period": "100ms",
        "cycle_period": "20ms",
        "executor_timeout": "3s",
        "executor_stale_after": "1s",
        "lease_resend_after": "2s",
    },
    "executor": {"heartbeat_interval": "200ms", "fake": {"startup_delay": "50ms"}},
}


def running_dev(tmp_path: Path, store: str = "", **overrides: Any) -> EmbeddedArmada:
    storage = {"data_dir": tmp_path / "data", "store": store}
    return EmbeddedArmada(
        dev_settings(tmp_path / "data", **{**FAST, "storage": storage, **overrides})
    )


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[str]:
    """The store's URL: empty for the embedded store."""
    if request.param == "sqlite":
        yield ""
    else:
        with fresh_schema() as url:
            yield url


@pytest.fixture
def armada(tmp_path: Path, store: str) -> Iterator[EmbeddedArmada]:
    with running_dev(tmp_path, store, clusters=1, nodes_per_cluster=4) as running:
        yield running


def sleep_job(seconds: str = "1s", **fields: Any) -> Any:
    return item(pod=pod_spec(container(args=("sleep", seconds))), **fields)


def kinds(client: ArmadaClient, job_set: str, job_id: str) -> list[str]:
    return [k for j, k in event_types(events(client, "queue-a", job_set)) if j == job_id]


def finished(client: ArmadaClient, job_set: str, job_id: str) -> list[str]:
    seen = kinds(client, job_set, job_id)
    terminal = {"succeeded", "failed", "cancelled", "preempted"}
    return seen if seen and seen[-1] in terminal else []


def test_the_sleep_job_goes_through_every_state_in_order(client: ArmadaClient) -> None:
    create_queue(client)
    job_id = client.submit_jobs("queue-a", "s", [sleep_job("1s")]).job_response_items[0].job_id
    seen = wait_until(lambda: finished(client, "s", job_id), what="the job to finish")
    assert seen == ["submitted", "queued", "leased", "pending", "running", "succeeded"]

    def finished_run() -> Any:
        # job details come from the views, which follow the log a moment behind it
        runs = client.get_job_details([job_id]).job_details[job_id].job_runs
        return runs[0] if runs and runs[0].finished_ts.seconds else None

    run = wait_until(finished_run, timeout=15, what="the views to show the run finished")
    assert run.cluster == "cluster-1" and run.node.startswith("cluster-1-node-")
    assert run.started_ts.seconds


@pytest.mark.parametrize(("code", "category"), [(1, "user_error"), (3, "uncategorized")])
def test_a_job_exiting_non_zero_fails_with_its_exit_code(
    client: ArmadaClient, code: int, category: str
) -> None:
    """Categorised as in Armada's development setup (its testsuite's categorization cases)."""
    create_queue(client)
    job = sleep_job("100ms", annotations={"armadaproject.io/fake-exit-code": str(code)})
    job_id = client.submit_jobs("queue-a", "s", [job]).job_response_items[0].job_id
    assert wait_until(lambda: finished(client, "s", job_id))[-1] == "failed"
    failed = events(client, "queue-a", "s")[-1].message.failed
    assert dict(failed.exit_codes) == {"main": code}
    assert failed.failure_category == category
    # the status comes from the views, a moment behind the event stream
    wait_until(lambda: client.get_job_status([job_id]).job_states[job_id] == 4)  # FAILED


def test_a_job_running_past_its_active_deadline_fails_deadline_exceeded(
    client: ArmadaClient,
) -> None:
    create_queue(client)
    job = item(pod=pod_spec(container(args=("sleep", "30s")), activeDeadlineSeconds=1))
    job_id = client.submit_jobs("queue-a", "s", [job]).job_response_items[0].job_id
    seen = wait_until(lambda: finished(client, "s", job_id), timeout=15, what="the deadline")
    assert seen[-2:] == ["running", "failed"]
    failed = events(client, "queue-a", "s")[-1].message.failed
    assert (failed.failure_category, failed.failure_subcategory) == ("uncategorized", "")
    assert failed.cause == event_pb2.Cause.DeadlineExceeded
    # The status call reads the views, which may trail the event stream by a moment.
    wait_until(
        lambda: client.get_job_status([job_id]).job_states[job_id] == 4,  # FAILED
        what="the job's status to say failed",
    )


def pods_on(armada: EmbeddedArmada, cluster: str) -> int:
    farm = armada.system.farm
    assert farm is not None
    backend: Any = farm.clusters[cluster]
    return int(backend.pod_count())


def test_cancelling_a_running_job_removes_its_pod(
    client: ArmadaClient, armada: EmbeddedArmada
) -> None:
    create_queue(client)
    job_id = client.submit_jobs("queue-a", "s", [sleep_job("60s")]).job_response_items[0].job_id
    wait_until(lambda: "running" in kinds(client, "s", job_id), what="running")
    assert pods_on(armada, "cluster-1") == 1
    client.cancel_jobs("queue-a", "s", job_id)
    assert kinds(client, "s", job_id)[-2:] == ["cancelling", "cancelled"]
    wait_until(lambda: pods_on(armada, "cluster-1") == 0, what="the pod to be deleted")


def test_preempting_a_running_job(client: ArmadaClient, armada: EmbeddedArmada) -> None:
    create_queue(client)
    job_id = client.submit_jobs("queue-a", "s", [sleep_job("60s")]).job_response_items[0].job_id
    wait_until(lambda: "running" in kinds(client, "s", job_id), what="running")
    client.preempt_jobs("queue-a", "s", job_id)
    seen = wait_until(lambda: finished(client, "s", job_id), what="preempted")
    assert seen[-2:] == ["preempting", "preempted"]
    wait_until(lambda: pods_on(armada, "cluster-1") == 0, what="the pod to be deleted")


def test_a_gang_of_three_runs_all_at_once(client: ArmadaClient) -> None:
    create_queue(client)
    gang = {"armadaproject.io/gangId": "trio", "armadaproject.io/gangCardinality": "3"}
    big = item(
        pod=pod_spec(container(args=("sleep", "2s"), requests={"cpu": "20", "memory": "1Gi"})),
        annotations=gang,
    )
    ids = [r.job_id for r in client.submit_jobs("queue-a", "g", [big] * 3).job_response_items]
    wait_until(lambda: all(finished(client, "g", j) for j in ids), what="the gang to finish")
    stream = event_types(events(client, "queue-a", "g"))
    order = [(j, k) for j, k in stream if k in ("leased", "running", "succeeded")]
    last_running = max(i for i, (_, k) in enumerate(order) if k == "running")
    first_succeeded = min(i for i, (_, k) in enumerate(order) if k == "succeeded")
    assert last_running < first_succeeded, "all three were running together"
    leased_entries = {
        m.id.split(":")[0] for m in events(client, "queue-a", "g") if m.message.HasField("leased")
    }
    assert len(leased_entries) == 1, "leased together, in one scheduling round"


def test_two_clusters_share_the_work_and_survive_losing_one(tmp_path: Path, store: str) -> None:
    with (
        running_dev(tmp_path, store, clusters=2, nodes_per_cluster=2) as armada,
        grpc.insecure_channel(armada.address) as channel,
    ):
        client = ArmadaClient(channel)
        create_queue(client)
        whole_node = {"cpu": "32", "memory": "1Gi"}
        jobs = [item(pod=pod_spec(container(args=("sleep", "4s"), requests=whole_node)))] * 4
        ids = [r.job_id for r in client.submit_jobs("queue-a", "s", jobs).job_response_items]
        wait_until(lambda: all("running" in kinds(client, "s", j) for j in ids), what="running")

        def cluster_of(job_id: str) -> str:
            runs = client.get_job_details([job_id]).job_details[job_id].job_runs
            return str(runs[-1].cluster)

        assert {cluster_of(j) for j in ids} == {"cluster-1", "cluster-2"}, "both clusters used"
        lost = [j for j in ids if cluster_of(j) == "cluster-2"]

        # cluster-2's executor dies: its leases expire and its jobs are retried on cluster-1.
        farm = armada.system.farm
        assert farm is not None
        victim = next(t for t in farm.tasks if t.get_name() == "executor-cluster-2")
        armada.system_loop.call_soon_threadsafe(victim.cancel)
        wait_until(
            lambda: all(finished(client, "s", j) for j in ids),
            timeout=60,
            what="every job to finish",
        )
        states = client.get_job_status(ids).job_states
        assert all(states[j] == 3 for j in ids), "all succeeded (3 is SUCCEEDED): none lost"
        for job_id in lost:
            assert "lease_expired" in kinds(client, "s", job_id)
            runs = client.get_job_details([job_id]).job_details[job_id].job_runs
            assert [r.cluster for r in runs] == ["cluster-2", "cluster-1"]

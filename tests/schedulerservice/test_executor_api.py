"""The executor API over gRPC, with a scripted executor, against `armada dev` (its scheduler)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from armada.rpc.gen import executorapi_pb2 as pb
from armada.rpc.gen import executorapi_pb2_grpc as pb_grpc
from armada.rpc.gen import scheduler_reporting_pb2 as rpb
from armada.rpc.gen import scheduler_reporting_pb2_grpc as rpb_grpc
from armada.waiting import wait_until
from tests.api_builders import create_queue, event_types, events, item
from tests.conftest import dev_settings
from tests.schedulerservice.harness import leases_in


class ScriptedExecutor:
    """Speaks the executor API like a real executor, but only does what the test says."""

    node_name = "node-1"  # its one node
    node_labels: dict[str, str] = {}
    node_resources = {"cpu": "8", "memory": "32Gi", "ephemeral-storage": "100Gi"}

    def __init__(self, channel: grpc.Channel, executor_id: str = "cluster-1") -> None:
        self.stub = pb_grpc.ExecutorApiStub(channel)
        self.executor_id = executor_id
        self._requests: queue.Queue[pb.LeaseRequest | None] = queue.Queue()
        self.received: queue.Queue[pb.LeaseStreamMessage] = queue.Queue()
        self._leases: list[pb.JobRunLease] = []  # received in a batch, not yet taken
        self._stream = self.stub.LeaseJobRuns(iter(self._requests.get, None))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for message in self._stream:
                self.received.put(message)
        except grpc.RpcError:
            pass

    def heartbeat(self, active: list[str] = ()) -> None:  # type: ignore[assignment]
        request = pb.LeaseRequest(
            executor_id=self.executor_id,
            pool="default",
            max_jobs_to_lease=100,
            active_run_ids=list(active),
        )
        request.nodes.add(
            name=self.node_name, labels=self.node_labels, total_resources=self.node_resources
        )
        self._requests.put(request)

    def next_lease(self, timeout: float = 10) -> pb.JobRunLease:
        deadline = time.monotonic() + timeout
        while not self._leases and time.monotonic() < deadline:
            message = self.received.get(timeout=max(0.01, deadline - time.monotonic()))
            self._leases.extend(leases_in([message]))
        if not self._leases:
            raise AssertionError("no lease arrived")
        return self._leases.pop(0)

    def next_of(self, kind: str, timeout: float = 10) -> pb.LeaseStreamMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.received.get(timeout=max(0.01, deadline - time.monotonic()))
            if message.HasField(kind):
                return message
        raise AssertionError(f"no {kind} arrived")

    def report(self, lease: pb.JobRunLease, **kinds: object) -> None:
        event = pb.RunEvent(job_id=lease.job_id, run_id=lease.run_id, created=time.time())
        for kind, body in kinds.items():
            getattr(event, kind).CopyFrom(body)
        self.stub.ReportEvents(pb.EventList(executor_id=self.executor_id, events=[event]))

    def close(self) -> None:
        self._requests.put(None)
        self._stream.cancel()


@pytest.fixture
def armada(tmp_path: Path) -> Iterator[EmbeddedArmada]:
    settings = dev_settings(
        tmp_path / "data",
        scheduler={
            "schedule_period": "100ms",
            "cycle_period": "20ms",
            "executor_timeout": "30s",
            "executor_stale_after": "10s",
        },
    )
    with EmbeddedArmada(settings) as running:
        yield running
        scheduler = running.system.scheduler
        assert scheduler is not None
        scheduler.service.validate()


@pytest.fixture
def executor(channel: grpc.Channel) -> Iterator[ScriptedExecutor]:
    scripted = ScriptedExecutor(channel)
    yield scripted
    scripted.close()


def test_a_job_goes_all_the_way_to_succeeded(
    client: ArmadaClient, executor: ScriptedExecutor
) -> None:
    create_queue(client)
    executor.heartbeat()
    job_id = client.submit_jobs("queue-a", "s", [item()]).job_response_items[0].job_id
    lease = executor.next_lease()
    assert (lease.job_id, lease.node, lease.queue, lease.job_set) == (
        job_id,
        "node-1",
        "queue-a",
        "s",
    )
    executor.heartbeat(active=[lease.run_id])
    executor.report(lease, assigned=pb.RunAssigned(pod_name=f"armada-{job_id}-0", node="node-1"))
    executor.report(lease, running=pb.RunRunning(pod_name=f"armada-{job_id}-0", node="node-1"))
    executor.report(lease, succeeded=pb.RunSucceeded(node="node-1"))
    wait_until(lambda: len(events(client, "queue-a", "s")) == 6)
    assert [kind for _, kind in event_types(events(client, "queue-a", "s"))] == [
        "submitted",
        "queued",
        "leased",
        "pending",
        "running",
        "succeeded",
    ]
    leased = events(client, "queue-a", "s")[2].message.leased
    assert (leased.cluster_id, leased.pool) == ("cluster-1", "default")


def test_a_failure_carries_exit_codes_and_category(
    client: ArmadaClient, executor: ScriptedExecutor
) -> None:
    create_queue(client)
    executor.heartbeat()
    client.submit_jobs("queue-a", "s", [item()])
    lease = executor.next_lease()
    executor.report(
        lease,
        failed=pb.RunFailed(
            reason="Error: exit code 3",
            cause="Error",
            category="user-error",
            exit_codes={"main": 3},
            node="node-1",
        ),
    )
    wait_until(lambda: events(client, "queue-a", "s")[-1].message.HasField("failed"))
    failed = events(client, "queue-a", "s")[-1].message.failed
    assert (dict(failed.exit_codes), failed.failure_category, failed.cluster_id) == (
        {"main": 3},
        "user-error",
        "cluster-1",
    )


def test_cancelling_a_running_job_tells_the_executor(
    client: ArmadaClient, executor: ScriptedExecutor
) -> None:
    create_queue(client)
    executor.heartbeat()
    job_id = client.submit_jobs("queue-a", "s", [item()]).job_response_items[0].job_id
    lease = executor.next_lease()
    executor.report(lease, running=pb.RunRunning(node="node-1"))
    client.cancel_jobs("queue-a", "s", job_id)
    executor.heartbeat(active=[lease.run_id])
    cancel = executor.next_of("cancel_runs")
    assert list(cancel.cancel_runs.run_ids) == [lease.run_id]


def test_reports_answer_why_a_job_waits(
    client: ArmadaClient, channel: grpc.Channel, executor: ScriptedExecutor
) -> None:
    create_queue(client)
    executor.heartbeat()
    big = item(
        pod=__import__("tests.api_builders", fromlist=["x"]).pod_spec(
            __import__("tests.api_builders", fromlist=["x"]).container(
                requests={"cpu": "6", "memory": "1Gi"}
            )
        )
    )
    ids = [r.job_id for r in client.submit_jobs("queue-a", "s", [big, big]).job_response_items]
    executor.next_lease()
    reports = rpb_grpc.SchedulerReportingStub(channel)
    waiting = ids[1]
    wait_until(
        lambda: "not scheduled" in reports.GetJobReport(rpb.JobReportRequest(job_id=waiting)).report
    )
    text = reports.GetJobReport(rpb.JobReportRequest(job_id=waiting)).report
    assert "QUEUED" in text
    overview = reports.GetSchedulingReport(rpb.SchedulingReportRequest(verbosity=2)).report
    assert "default" in overview
    assert "queue-a" in reports.GetQueueReport(rpb.QueueReportRequest(queue_name="queue-a")).report
    with pytest.raises(grpc.RpcError) as err:
        reports.GetJobReport(rpb.JobReportRequest(job_id="nope"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    shares = reports.GetQueueShares(rpb.QueueSharesRequest()).shares  # ours: for lookout
    assert shares and {(s.pool, s.queue) for s in shares} == {("default", "queue-a")}
    for share in shares:  # both jobs (6 of the node's 8 CPUs each) in every round kept
        assert share.queued_jobs + share.running_jobs == 2
        assert share.demand == pytest.approx(1.5) and share.fair_share == pytest.approx(1.0)

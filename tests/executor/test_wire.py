"""Protobuf at the edge: leases and run events survive the trip through the wire types."""

from __future__ import annotations

import pytest

from armada.domain import events as ev
from armada.domain.jobs import Gang, IngressConfig, ServiceConfig
from armada.executor.model import LeasedRun, NodeTaint, NodeView
from armada.executor.wire import (
    lease_from_proto,
    lease_request,
    lease_to_proto,
    run_event_from_proto,
    run_event_to_proto,
)
from armada.rpc.gen import executorapi_pb2 as pb


def test_a_lease_round_trips() -> None:
    lease = LeasedRun(
        run_id="r",
        job_id="j",
        queue="q",
        job_set="s",
        owner="alice",
        groups=("g1",),
        namespace="ns",
        node="n",
        pool="p",
        labels={"a": "b"},
        annotations={"c": "d"},
        pod_spec=b"\x01",
        priority_class="armada-default",
        services=(ServiceConfig(type="NodePort", ports=(80,), name="web"),),
        ingress=(
            IngressConfig(
                ports=(443,),
                annotations={"x": "y"},
                tls_enabled=True,
                cert_name="c",
                use_cluster_ip=True,
            ),
        ),
        gang=Gang(id="g", cardinality=2, node_uniformity_label="rack"),
        gang_uniformity_value="r1",
        previous_attempts=2,
    )
    assert lease_from_proto(lease_to_proto(lease)) == lease


FAILURE = ev.FailureInfo(
    reason="x",
    cause="OOM",
    category="oom",
    subcategory="s",
    exit_codes={"main": 137},
    container_messages={"main": "killed"},
    node="n",
    pod_name="p",
    namespace="ns",
    cluster="c",
)


@pytest.mark.parametrize(
    "event",
    [
        ev.JobRunAssigned(job_id="j", run_id="r", pod_name="p", namespace="ns", node="n"),
        ev.JobRunRunning(job_id="j", run_id="r", pod_name="p", namespace="ns", node="n"),
        ev.JobRunSucceeded(job_id="j", run_id="r", pod_name="p", node="n"),
        ev.JobRunFailed(job_id="j", run_id="r", failure=FAILURE),
        ev.JobRunLeaseReturned(
            job_id="j", run_id="r", reason="stuck", run_attempted=True, node="n"
        ),
        ev.JobRunCancelled(job_id="j", run_id="r"),
        ev.IngressInfo(
            job_id="j", run_id="r", node="n", pod_name="p", namespace="ns", addresses={80: "h:80"}
        ),
        ev.JobRunUtilisation(
            job_id="j",
            run_id="r",
            executor="c",
            node="n",
            pod_name="p",
            namespace="ns",
            max_resources={"cpu": 1250, "memory": 300 * 2**20 * 1000},
            avg_resources={"cpu": 375, "memory": 123_456 * 1024 * 1000},
            cumulative={"cpu": 42_000},
        ),
    ],
)
def test_run_events_round_trip(event: object) -> None:
    message = run_event_to_proto(event, 12.5)  # type: ignore[arg-type]
    assert message.created == 12.5
    assert run_event_from_proto(message, cluster="c") == event


def test_an_empty_run_event_is_refused() -> None:
    with pytest.raises(ValueError, match="carries no event"):
        run_event_from_proto(pb.RunEvent(job_id="j", run_id="r"))


def test_nodes_of_another_pool_say_so() -> None:
    nodes = [
        NodeView(
            name="a",
            labels={"armadaproject.io/pool": "gpu"},
            taints=(NodeTaint(key="k", value="v"),),
            allocatable={"cpu": "4"},
        ),
        NodeView(name="b", labels={"armadaproject.io/pool": "cpu"}),
        NodeView(name="c"),
    ]
    request = lease_request(
        executor_id="e",
        pool="cpu",
        nodes=nodes,
        runs_by_node={"a": ["r1"]},
        max_jobs_to_lease=5,
        active_run_ids=["r1"],
        unassigned_run_ids=[],
        node_pool_label="armadaproject.io/pool",
    )
    assert [n.pool for n in request.nodes] == ["gpu", "", ""]
    assert list(request.nodes[0].run_ids) == ["r1"]
    assert request.nodes[0].taints[0] == pb.Taint(key="k", value="v", effect="NoSchedule")

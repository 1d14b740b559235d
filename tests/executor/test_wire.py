"""Protobuf at the edge: leases and run events survive the trip through the wire types."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from armada.domain import events as ev
from armada.domain.jobs import Gang, IngressConfig, ServiceConfig
from armada.executor.model import Lease, NodeTaint, NodeView
from armada.executor.wire import (
    lease_from_proto,
    lease_request,
    lease_to_proto,
    run_event_from_proto,
    run_event_to_proto,
)
from armada.rpc.gen import executorapi_pb2 as pb


def test_a_lease_round_trips() -> None:
    lease = Lease(
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
    assert run_event_from_proto(message, executor="c") == event


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


# --- the codec's round trip, as a property (issue 12.4) -------------------------------------

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_name = st.text("abcdefghijklmnopqrstuvwxyz-./", min_size=1, max_size=10)
_int32 = st.integers(-(2**31), 2**31 - 1)
_uint32 = st.integers(0, 2**32 - 1)
_quantities = st.dictionaries(_name, st.integers(0, 2**62), max_size=3)
_ids = {"job_id": _text, "run_id": _text}
_pod = {"pod_name": _text, "namespace": _text, "node": _text, "pod_number": _int32}

_failures = st.builds(
    ev.FailureInfo,
    reason=_text,
    cause=_text,
    category=_text,
    subcategory=_text,
    exit_codes=st.dictionaries(_text, _int32, max_size=3),
    container_messages=st.dictionaries(_text, _text, max_size=3),
    node=_text,
    pod_name=_text,
    namespace=_text,
    cluster=st.just("executor-1"),  # the decoder's: who sent it
)
_run_events = st.one_of(
    st.builds(ev.JobRunAssigned, **_ids, **_pod),
    st.builds(ev.JobRunRunning, **_ids, **_pod),
    st.builds(ev.JobRunSucceeded, **_ids, pod_name=_text, node=_text),
    st.builds(ev.JobRunFailed, **_ids, failure=_failures),
    st.builds(
        ev.JobRunLeaseReturned, **_ids, reason=_text, run_attempted=st.booleans(), node=_text
    ),
    st.builds(ev.JobRunCancelled, **_ids),
    st.builds(
        ev.IngressInfo,
        **_ids,
        node=_text,
        pod_name=_text,
        namespace=_text,
        addresses=st.dictionaries(_int32, _text, max_size=3),
    ),
    st.builds(
        ev.JobRunUtilisation,
        **_ids,
        executor=st.just("executor-1"),
        node=_text,
        pod_name=_text,
        namespace=_text,
        max_resources=_quantities,
        avg_resources=_quantities,
        cumulative=_quantities,
    ),
)


@given(event=_run_events, created=st.floats(allow_nan=False))
def test_every_run_event_survives_the_wire(event: ev.RunEvent, created: float) -> None:
    """What the executor encodes, the scheduler decodes: the same typed event, whatever its
    fields (the codec fills in nothing; meanings of empty fields are the rules')."""
    message = pb.RunEvent.FromString(run_event_to_proto(event, created).SerializeToString())
    assert message.created == created
    assert run_event_from_proto(message, "executor-1") == event


_strings = st.dictionaries(_text, _text, max_size=3)
_leases = st.builds(
    Lease,
    run_id=_text,
    job_id=_text,
    queue=_text,
    job_set=_text,
    owner=_text,
    groups=st.lists(_text, max_size=3).map(tuple),
    namespace=_text.filter(bool),  # Kubernetes needs one: empty means "default"
    node=_text,
    pool=_text,
    labels=_strings,
    annotations=_strings,
    pod_spec=st.binary(max_size=20),
    priority_class=_text,
    services=st.lists(
        st.builds(
            ServiceConfig,
            type=_text,
            ports=st.lists(_uint32, max_size=3).map(tuple),
            name=_text,
        ),
        max_size=2,
    ).map(tuple),
    ingress=st.lists(
        st.builds(
            IngressConfig,
            ports=st.lists(_uint32, max_size=3).map(tuple),
            annotations=_strings,
            tls_enabled=st.booleans(),
            cert_name=_text,
            use_cluster_ip=st.booleans(),
        ),
        max_size=2,
    ).map(tuple),
    gang=st.none()
    | st.builds(Gang, id=_text.filter(bool), cardinality=_uint32, node_uniformity_label=_text),
    gang_uniformity_value=_text,
    previous_attempts=_uint32,
).map(lambda lease: lease if lease.gang else dataclasses.replace(lease, gang_uniformity_value=""))


@given(lease=_leases)
def test_every_lease_survives_the_wire(lease: Lease) -> None:
    """What the scheduler encodes (``leases.lease_message`` goes through ``lease_to_proto``),
    the executor decodes: the same lease."""
    message = pb.JobRunLease.FromString(lease_to_proto(lease).SerializeToString())
    assert lease_from_proto(message) == lease

"""Protobuf at the edge: the ExecutorApi's messages to and from the executor's own types.

Leases come in as ``JobRunLease`` and become :class:`~armada.executor.model.LeasedRun`; run events
(domain events) go out as ``RunEvent``; the cluster's inventory goes out as a ``LeaseRequest``.
The reverse directions exist for the fake scheduler that ships in :mod:`armada.executor.testing`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from armada.domain import events as ev
from armada.domain.jobs import Gang, IngressConfig, ServiceConfig
from armada.domain.resources import format_quantity
from armada.executor.model import LeasedRun, NodeView
from armada.executor.observe import RunEvent
from armada.rpc.gen import executorapi_pb2 as pb
from armada.rpc.usage import utilisation_fields


def lease_from_proto(msg: pb.JobRunLease) -> LeasedRun:
    gang = None
    if msg.HasField("gang") and msg.gang.id:
        gang = Gang(
            id=msg.gang.id,
            cardinality=msg.gang.cardinality,
            node_uniformity_label=msg.gang.node_uniformity_label,
        )
    return LeasedRun(
        run_id=msg.run_id,
        job_id=msg.job_id,
        queue=msg.queue,
        job_set=msg.job_set,
        owner=msg.user,
        groups=tuple(msg.groups),
        namespace=msg.namespace or "default",
        node=msg.node,
        pool=msg.pool,
        labels=dict(msg.labels),
        annotations=dict(msg.annotations),
        pod_spec=msg.pod_spec,
        priority_class=msg.priority_class,
        services=tuple(
            ServiceConfig(type=s.type, ports=tuple(s.ports), name=s.name) for s in msg.services
        ),
        ingress=tuple(
            IngressConfig(
                ports=tuple(i.ports),
                annotations=dict(i.annotations),
                tls_enabled=i.tls_enabled,
                cert_name=i.cert_name,
                use_cluster_ip=i.use_cluster_ip,
            )
            for i in msg.ingress
        ),
        gang=gang,
        gang_uniformity_value=msg.gang.node_uniformity_value if gang else "",
        previous_attempts=msg.previous_attempts,
    )


def lease_to_proto(lease: LeasedRun) -> pb.JobRunLease:
    msg = pb.JobRunLease(
        run_id=lease.run_id,
        job_id=lease.job_id,
        queue=lease.queue,
        job_set=lease.job_set,
        user=lease.owner,
        groups=list(lease.groups),
        namespace=lease.namespace,
        node=lease.node,
        pool=lease.pool,
        labels=dict(lease.labels),
        annotations=dict(lease.annotations),
        pod_spec=lease.pod_spec,
        priority_class=lease.priority_class,
        previous_attempts=lease.previous_attempts,
    )
    for service in lease.services:
        msg.services.add(type=service.type, ports=list(service.ports), name=service.name)
    for ingress in lease.ingress:
        msg.ingress.add(
            ports=list(ingress.ports),
            annotations=dict(ingress.annotations),
            tls_enabled=ingress.tls_enabled,
            cert_name=ingress.cert_name,
            use_cluster_ip=ingress.use_cluster_ip,
        )
    if lease.gang is not None:
        msg.gang.id = lease.gang.id
        msg.gang.cardinality = lease.gang.cardinality
        msg.gang.node_uniformity_label = lease.gang.node_uniformity_label
        msg.gang.node_uniformity_value = lease.gang_uniformity_value
    return msg


def run_event_to_proto(event: RunEvent, created: float) -> pb.RunEvent:
    msg = pb.RunEvent(job_id=event.job_id, run_id=event.run_id, created=created)
    match event:
        case ev.JobRunAssigned():
            msg.assigned.CopyFrom(pb.RunAssigned(**_pod_fields(event)))
        case ev.JobRunRunning():
            msg.running.CopyFrom(pb.RunRunning(**_pod_fields(event)))
        case ev.JobRunSucceeded():
            msg.succeeded.SetInParent()
            msg.succeeded.pod_name = event.pod_name
            msg.succeeded.node = event.node
        case ev.JobRunFailed():
            _failure_to_proto(event.failure, msg.failed)
        case ev.JobRunLeaseReturned():
            msg.lease_returned.SetInParent()
            msg.lease_returned.reason = event.reason
            msg.lease_returned.run_attempted = event.run_attempted
            msg.lease_returned.node = event.node
        case ev.JobRunCancelled():
            msg.cancelled.SetInParent()
        case ev.IngressInfo():
            msg.ingress_info.SetInParent()
            msg.ingress_info.node = event.node
            msg.ingress_info.pod_name = event.pod_name
            msg.ingress_info.namespace = event.namespace
            for port, address in event.addresses.items():
                msg.ingress_info.addresses[port] = address
        case ev.JobRunUtilisation():
            _utilisation_to_proto(event, msg.utilisation)
    return msg


def _utilisation_to_proto(event: ev.JobRunUtilisation, out: pb.RunUtilisation) -> None:
    out.SetInParent()
    out.node, out.pod_name, out.namespace = event.node, event.pod_name, event.namespace
    for values, field in (
        (event.max_resources, out.max_resources),
        (event.avg_resources, out.avg_resources),
        (event.cumulative, out.total_cumulative_usage),
    ):
        for name, value in values.items():
            field[name] = format_quantity(value, name)


def _pod_fields(event: ev.JobRunAssigned | ev.JobRunRunning) -> dict[str, Any]:
    return {
        "pod_name": event.pod_name,
        "namespace": event.namespace,
        "node": event.node,
        "pod_number": event.pod_number,
    }


def _failure_to_proto(failure: ev.FailureInfo, out: pb.RunFailed) -> None:
    out.SetInParent()
    out.reason = failure.reason
    out.cause = failure.cause
    out.category = failure.category
    out.subcategory = failure.subcategory
    out.node = failure.node
    out.pod_name = failure.pod_name
    out.namespace = failure.namespace
    for name, code in failure.exit_codes.items():
        out.exit_codes[name] = code
    for name, text in failure.container_messages.items():
        out.container_messages[name] = text


def run_event_from_proto(msg: pb.RunEvent, cluster: str = "") -> RunEvent:
    """The domain event a RunEvent carries (for the fake scheduler and tests)."""
    ids: dict[str, Any] = {"job_id": msg.job_id, "run_id": msg.run_id}
    kind = msg.WhichOneof("event")
    if kind in ("assigned", "running"):
        where = msg.assigned if kind == "assigned" else msg.running
        fields: dict[str, Any] = {
            "pod_name": where.pod_name,
            "namespace": where.namespace,
            "node": where.node,
            "pod_number": where.pod_number,
        }
        if kind == "assigned":
            return ev.JobRunAssigned(**ids, **fields)
        return ev.JobRunRunning(**ids, **fields)
    if kind == "succeeded":
        return ev.JobRunSucceeded(**ids, pod_name=msg.succeeded.pod_name, node=msg.succeeded.node)
    if kind == "failed":
        f = msg.failed
        failure = ev.FailureInfo(
            reason=f.reason,
            cause=f.cause,
            category=f.category,
            subcategory=f.subcategory,
            exit_codes=dict(f.exit_codes),
            container_messages=dict(f.container_messages),
            node=f.node,
            pod_name=f.pod_name,
            namespace=f.namespace,
            cluster=cluster,
        )
        return ev.JobRunFailed(**ids, failure=failure)
    if kind == "lease_returned":
        lr = msg.lease_returned
        return ev.JobRunLeaseReturned(
            **ids, reason=lr.reason, run_attempted=lr.run_attempted, node=lr.node
        )
    if kind == "cancelled":
        return ev.JobRunCancelled(**ids)
    if kind == "ingress_info":
        info = msg.ingress_info
        return ev.IngressInfo(
            **ids,
            node=info.node,
            pod_name=info.pod_name,
            namespace=info.namespace,
            addresses=dict(info.addresses),
        )
    if kind == "utilisation":
        return ev.JobRunUtilisation(**ids, executor=cluster, **utilisation_fields(msg.utilisation))
    raise ValueError(f"run event for run {msg.run_id} carries no event")


def node_to_proto(node: NodeView, run_ids: Sequence[str]) -> pb.NodeInfo:
    return pb.NodeInfo(
        name=node.name,
        taints=[pb.Taint(key=t.key, value=t.value, effect=t.effect) for t in node.taints],
        labels=dict(node.labels),
        total_resources=dict(node.allocatable),
        non_armada_allocated_resources=dict(node.non_armada_allocated),
        unschedulable=node.unschedulable,
        run_ids=list(run_ids),
    )


class NodeInfoCache:
    """Keeps each node's NodeInfo between lease requests: rebuilt only when the node's view
    or its runs change (a 500-node inventory goes out several times a second)."""

    def __init__(self) -> None:
        self._infos: dict[str, tuple[NodeView, tuple[str, ...], pb.NodeInfo]] = {}

    def info(
        self, node: NodeView, runs: Sequence[str], pool: str, node_pool_label: str
    ) -> pb.NodeInfo:
        key = tuple(runs)
        cached = self._infos.get(node.name)
        if cached is not None and cached[0] is node and cached[1] == key:
            return cached[2]
        info = node_to_proto(node, key)
        node_pool = node.labels.get(node_pool_label, "") if node_pool_label else ""
        if node_pool and node_pool != pool:
            info.pool = node_pool
        self._infos[node.name] = (node, key, info)
        return info


def lease_request(
    *,
    executor_id: str,
    pool: str,
    nodes: Iterable[NodeView],
    runs_by_node: Mapping[str, Sequence[str]],
    max_jobs_to_lease: int,
    active_run_ids: Iterable[str],
    unassigned_run_ids: Iterable[str],
    node_pool_label: str = "",
    cache: NodeInfoCache | None = None,
) -> pb.LeaseRequest:
    cache = cache or NodeInfoCache()
    infos = [
        cache.info(node, runs_by_node.get(node.name, ()), pool, node_pool_label) for node in nodes
    ]
    return pb.LeaseRequest(
        executor_id=executor_id,
        pool=pool,
        nodes=infos,
        max_jobs_to_lease=max_jobs_to_lease,
        active_run_ids=list(active_run_ids),
        unassigned_run_ids=list(unassigned_run_ids),
    )

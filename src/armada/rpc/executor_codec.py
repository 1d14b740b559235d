"""The executor API's contract, typed both ways: the one codec of its messages, used by the
scheduler, the executor and the fake scheduler of the executor's tests.

* ``JobRunLease`` <-> :class:`~armada.domain.leases.Lease` (the scheduler encodes, the
  executor decodes);
* ``RunEvent`` <-> :data:`~armada.domain.events.RunEvent` (the executor encodes, the
  scheduler decodes).

Decoding then encoding gives back what was encoded (a property test checks it): what a field
left empty on the wire means (a failure with no reason...) is for the receiver's rules to say,
not for the codec. The one exception is a lease's namespace, which Kubernetes requires:
"default" when left empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from armada.domain import events as ev
from armada.domain.jobs import Gang, IngressConfig, ServiceConfig
from armada.domain.leases import Lease
from armada.domain.resources import format_quantity
from armada.rpc.gen import executorapi_pb2 as pb
from armada.rpc.usage import utilisation_fields


def lease_from_proto(msg: pb.JobRunLease) -> Lease:
    gang = None
    if msg.HasField("gang") and msg.gang.id:
        gang = Gang(
            id=msg.gang.id,
            cardinality=msg.gang.cardinality,
            node_uniformity_label=msg.gang.node_uniformity_label,
        )
    return Lease(
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


def lease_to_proto(lease: Lease) -> pb.JobRunLease:
    return job_run_lease(
        run_id=lease.run_id,
        job_id=lease.job_id,
        queue=lease.queue,
        job_set=lease.job_set,
        owner=lease.owner,
        groups=lease.groups,
        namespace=lease.namespace,
        node=lease.node,
        pool=lease.pool,
        labels=lease.labels,
        annotations=lease.annotations,
        pod_spec=lease.pod_spec,
        priority_class=lease.priority_class,
        services=lease.services,
        ingress=lease.ingress,
        gang=lease.gang,
        gang_uniformity_value=lease.gang_uniformity_value,
        previous_attempts=lease.previous_attempts,
    )


def job_run_lease(
    *,
    run_id: str,
    job_id: str,
    queue: str,
    job_set: str,
    owner: str,
    groups: Sequence[str],
    namespace: str,
    node: str,
    pool: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    pod_spec: bytes,
    priority_class: str,
    services: Iterable[ServiceConfig],
    ingress: Iterable[IngressConfig],
    gang: Gang | None,
    gang_uniformity_value: str,
    previous_attempts: int,
) -> pb.JobRunLease:
    """A :class:`Lease`'s message, from its fields. The scheduler encodes through this: a
    ``Lease`` made only to be encoded would cost a frozen dataclass per lease sent."""
    msg = pb.JobRunLease(
        run_id=run_id,
        job_id=job_id,
        queue=queue,
        job_set=job_set,
        user=owner,
        groups=groups,
        namespace=namespace,
        node=node,
        pool=pool,
        labels=labels,
        annotations=annotations,
        pod_spec=pod_spec,
        priority_class=priority_class,
        previous_attempts=previous_attempts,
    )
    for service in services:
        msg.services.add(type=service.type, ports=service.ports, name=service.name)
    for config in ingress:
        msg.ingress.add(
            ports=config.ports,
            annotations=config.annotations,
            tls_enabled=config.tls_enabled,
            cert_name=config.cert_name,
            use_cluster_ip=config.use_cluster_ip,
        )
    if gang is not None:
        msg.gang.id = gang.id
        msg.gang.cardinality = gang.cardinality
        msg.gang.node_uniformity_label = gang.node_uniformity_label
        msg.gang.node_uniformity_value = gang_uniformity_value
    return msg


def run_event_to_proto(event: ev.RunEvent, created: float) -> pb.RunEvent:
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


def run_event_from_proto(msg: pb.RunEvent, executor: str = "") -> ev.RunEvent:
    """The domain event a RunEvent from ``executor`` carries; ValueError if it carries none."""
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
            cluster=executor,
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
        return ev.JobRunUtilisation(**ids, executor=executor, **utilisation_fields(msg.utilisation))
    raise ValueError(f"run event for run {msg.run_id} carries no event")

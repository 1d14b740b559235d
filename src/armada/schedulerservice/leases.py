"""Turning a leased run into the message an executor acts on (``JobRunLease``).

The pod spec is the one stored at submission, pinned to the chosen node with a nodeSelector on
``node_id_label`` (so that kube-scheduler only binds it) and annotated with its pool, as
Armada's scheduler does before it sends a lease.
"""

from __future__ import annotations

from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from armada.domain.jobs import POOL_ANNOTATION, JobSpec
from armada.domain.lifecycle import JobRecord, RunRecord
from armada.rpc.gen import executorapi_pb2 as pb


def pinned_pod_spec(
    spec: JobSpec, run: RunRecord, node_id_label: str, priority_class_override: str
) -> bytes:
    pod = core.PodSpec()
    pod.ParseFromString(spec.pod_spec)
    pod.nodeSelector[node_id_label] = run.node
    if priority_class_override:
        pod.priorityClassName = priority_class_override
    return bytes(pod.SerializeToString())


def lease_message(
    job: JobRecord,
    spec: JobSpec,
    run: RunRecord,
    node_id_label: str,
    priority_class_override: str = "",
) -> pb.JobRunLease:
    """``spec`` is the full spec (with the pod spec); ``job`` may carry a slimmed one."""
    annotations = dict(spec.annotations)
    annotations[POOL_ANNOTATION] = run.pool
    lease = pb.JobRunLease(
        run_id=run.run_id,
        job_id=spec.job_id,
        queue=spec.queue,
        job_set=spec.job_set,
        user=spec.owner,
        groups=list(spec.groups),
        namespace=spec.namespace,
        node=run.node,
        pool=run.pool,
        labels=spec.labels,
        annotations=annotations,
        pod_spec=pinned_pod_spec(spec, run, node_id_label, priority_class_override),
        priority_class=spec.priority_class,
        previous_attempts=max(0, len(job.runs) - 1),
    )
    for service in spec.services:
        lease.services.add(type=service.type, ports=list(service.ports), name=service.name)
    for ingress in spec.ingress:
        lease.ingress.add(
            ports=list(ingress.ports),
            annotations=ingress.annotations,
            tls_enabled=ingress.tls_enabled,
            cert_name=ingress.cert_name,
            use_cluster_ip=ingress.use_cluster_ip,
        )
    if spec.gang is not None:
        lease.gang.id = spec.gang.id
        lease.gang.cardinality = spec.gang.cardinality
        lease.gang.node_uniformity_label = spec.gang.node_uniformity_label
        lease.gang.node_uniformity_value = run.gang_uniformity_value
    return lease

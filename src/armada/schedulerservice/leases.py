"""Turning a leased run into the message an executor acts on (``JobRunLease``).

The pod spec is the one stored at submission, pinned to the chosen node with a nodeSelector on
``node_id_label`` (so that kube-scheduler only binds it) and annotated with its pool, as
Armada's scheduler does before it sends a lease.
"""

from __future__ import annotations

from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from armada.domain.jobs import POOL_ANNOTATION, JobSpec
from armada.domain.lifecycle import JobRecord, RunRecord
from armada.rpc.executor_codec import job_run_lease
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
    return job_run_lease(
        run_id=run.run_id,
        job_id=spec.job_id,
        queue=spec.queue,
        job_set=spec.job_set,
        owner=spec.owner,
        groups=spec.groups,
        namespace=spec.namespace,
        node=run.node,
        pool=run.pool,
        labels=spec.labels,
        annotations=annotations,
        pod_spec=pinned_pod_spec(spec, run, node_id_label, priority_class_override),
        priority_class=spec.priority_class,
        services=spec.services,
        ingress=spec.ingress,
        gang=spec.gang,
        gang_uniformity_value=run.gang_uniformity_value if spec.gang is not None else "",
        previous_attempts=max(0, len(job.runs) - 1),
    )

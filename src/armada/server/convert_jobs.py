"""Jobs and runs: domain records -> api.Job, api.JobDetails, api.JobRunDetails, api.JobState."""

from __future__ import annotations

from collections.abc import Iterable

from armada_client.armada import job_pb2, submit_pb2
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core
from google.protobuf.timestamp_pb2 import Timestamp

from armada.domain.jobs import JobSpec
from armada.domain.lifecycle import JobRecord, RunRecord
from armada.domain.resources import format_quantity
from armada.domain.states import JobState, RunState

JOB_STATE_TO_API = {
    JobState.QUEUED: submit_pb2.QUEUED,
    JobState.LEASED: submit_pb2.LEASED,
    JobState.PENDING: submit_pb2.PENDING,
    JobState.RUNNING: submit_pb2.RUNNING,
    JobState.SUCCEEDED: submit_pb2.SUCCEEDED,
    JobState.FAILED: submit_pb2.FAILED,
    JobState.CANCELLED: submit_pb2.CANCELLED,
    JobState.PREEMPTED: submit_pb2.PREEMPTED,
    JobState.REJECTED: submit_pb2.REJECTED,
}
API_TO_JOB_STATE = {v: k for k, v in JOB_STATE_TO_API.items()}


def api_state_name(value: int) -> str:
    """The name of an api.JobState value for a message; a number no state has (proto3 enums
    take any) is shown as the number."""
    try:
        return str(submit_pb2.JobState.Name(value))  # type: ignore[arg-type]
    except ValueError:
        return f"{value} (no such state)"


RUN_STATE_TO_API = {
    RunState.LEASED: job_pb2.RUN_STATE_LEASED,
    RunState.PENDING: job_pb2.RUN_STATE_PENDING,
    RunState.RUNNING: job_pb2.RUN_STATE_RUNNING,
    RunState.SUCCEEDED: job_pb2.RUN_STATE_SUCCEEDED,
    RunState.FAILED: job_pb2.RUN_STATE_FAILED,
    RunState.PREEMPTED: job_pb2.RUN_STATE_PREEMPTED,
    RunState.CANCELLED: job_pb2.RUN_STATE_CANCELLED,
    RunState.LEASE_EXPIRED: job_pb2.RUN_STATE_LEASE_EXPIRED,
    RunState.LEASE_RETURNED: job_pb2.RUNS_STATE_LEASE_RETURNED,
}


def timestamp(seconds: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


def api_job(spec: JobSpec) -> submit_pb2.Job:
    """The job as Armada's API shows it (in JobSubmittedEvent and JobDetails.job_spec)."""
    job = submit_pb2.Job()
    fill_api_job(job, spec)
    return job


def fill_api_job(job: submit_pb2.Job, spec: JobSpec) -> None:
    job.id = spec.job_id
    job.client_id = spec.client_id
    job.job_set_id = spec.job_set
    job.queue = spec.queue
    job.namespace = spec.namespace
    job.labels.update(spec.labels)
    job.annotations.update(spec.annotations)
    job.owner = spec.owner
    job.queue_ownership_user_groups.extend(spec.groups)
    job.priority = float(spec.priority)
    job.created.FromNanoseconds(int(spec.submitted * 1e9))
    job.scheduler = spec.scheduler
    job.pod_spec.ParseFromString(spec.pod_spec)
    requirements = job.scheduling_resource_requirements
    for name, value in spec.requirements.resources.items():
        text = format_quantity(value, name)
        requirements.requests[name].string = text
        requirements.limits[name].string = text
    for ingress in spec.ingress:
        job.ingress.add(
            ports=list(ingress.ports),
            annotations=ingress.annotations,
            tls_enabled=ingress.tls_enabled,
            cert_name=ingress.cert_name,
            use_clusterIP=ingress.use_cluster_ip,
        )
    for service in spec.services:
        job.services.add(
            type=submit_pb2.ServiceType.Value(service.type),
            ports=list(service.ports),
            name=service.name,
        )


class ApiJobTemplates:
    """Builds api.Job messages for a batch of submissions. Jobs of one batch usually differ
    only in their id, client id and time: they share a template and cost a copy each instead
    of a build. Keep one per batch (the templates are not bounded)."""

    def __init__(self) -> None:
        self._templates: dict[tuple[object, ...], submit_pb2.Job] = {}

    def fill(self, job: submit_pb2.Job, spec: JobSpec) -> None:
        if spec.ingress or spec.services:
            fill_api_job(job, spec)
            return
        key = (
            spec.pod_spec,
            spec.queue,
            spec.job_set,
            spec.namespace,
            spec.owner,
            spec.groups,
            spec.priority,
            spec.scheduler,
            tuple(spec.labels.items()),
            tuple(spec.annotations.items()),
            tuple(spec.requirements.resources.items()),
        )
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = api_job(spec)
        job.CopyFrom(template)
        job.id = spec.job_id
        job.client_id = spec.client_id
        job.created.FromNanoseconds(int(spec.submitted * 1e9))


def run_details(run: RunRecord) -> job_pb2.JobRunDetails:
    details = job_pb2.JobRunDetails(
        run_id=run.run_id,
        job_id=run.job_id,
        state=RUN_STATE_TO_API[run.state],
        cluster=run.executor,
        node=run.node,
        leased_ts=timestamp(run.leased_at),
        ingress_addresses=dict(run.ingress_addresses),
    )
    if run.pending_at is not None:
        details.pending_ts.CopyFrom(timestamp(run.pending_at))
    if run.running_at is not None:
        details.started_ts.CopyFrom(timestamp(run.running_at))
    if run.finished_at is not None:
        details.finished_ts.CopyFrom(timestamp(run.finished_at))
    return details


def job_details(job: JobRecord, expand_spec: bool, expand_runs: bool) -> job_pb2.JobDetails:
    details = job_pb2.JobDetails(
        job_id=job.job_id,
        queue=job.spec.queue,
        jobset=job.spec.job_set,
        namespace=job.spec.namespace,
        state=JOB_STATE_TO_API[job.state],
        submitted_ts=timestamp(job.submitted_at),
        last_transition_ts=timestamp(job.last_transition),
        latest_run_id=job.latest_run.run_id if job.latest_run else "",
        cancel_reason=job.cancel_reason,
        cancel_user=job.cancel_user,
    )
    if job.cancelled_at is not None:
        details.cancel_ts.CopyFrom(timestamp(job.cancelled_at))
    if expand_spec:
        details.job_spec.CopyFrom(api_job(job.spec))
    if expand_runs:
        details.job_runs.extend(run_details(run) for run in job.runs)
    return details


def pod_spec(spec: JobSpec) -> core.PodSpec:
    pod = core.PodSpec()
    pod.ParseFromString(spec.pod_spec)
    return pod


def submit_response(job_ids: Iterable[str]) -> submit_pb2.JobSubmitResponse:
    """SubmitJobs' answer: an item per job id, in order. Added to the repeated field one by
    one, a third of the cost of constructing a message per id and passing the list."""
    response = submit_pb2.JobSubmitResponse()
    add = response.job_response_items.add
    for job_id in job_ids:
        add(job_id=job_id)
    return response

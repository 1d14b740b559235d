"""The lifecycle rules the scheduler applies, as pure functions: facts in, events out.

* what an executor's report about a run means for the job (a success ends the job, a returned
  lease requeues it away from the node it was tried on, up to ``max_retries``...);
* what an executor that stopped heartbeating means for its runs (their leases expire);
* what users asked for that the scheduler must carry out (preempt a run on request);
* fail-fast gangs: one member failing fails the whole gang.

Nothing here reads a clock or makes ids; the service passes in what it needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from armada.domain import events as ev
from armada.domain.lifecycle import JobRecord, RunRecord
from armada.domain.states import RunState


@dataclass(frozen=True)
class RetryRules:
    """How many times a job whose run was given back (or expired) is tried again."""

    max_retries: int = 3
    requeue_expired_leases: bool = True


@dataclass(frozen=True)
class RunReport:
    """One thing an executor saw happen to a run (the executor API's RunEvent, unwrapped)."""

    job_id: str
    run_id: str
    # assigned, running, succeeded, failed, lease_returned, cancelled, ingress_info, utilisation
    kind: str
    pod_name: str = ""
    namespace: str = ""
    node: str = ""
    pod_number: int = 0
    failure: ev.FailureInfo | None = None
    reason: str = ""
    run_attempted: bool = False
    addresses: tuple[tuple[int, str], ...] = ()
    # utilisation: the most and the average over the period, and the total (milli-units)
    max_resources: dict[str, int] = field(default_factory=dict)
    avg_resources: dict[str, int] = field(default_factory=dict)
    cumulative: dict[str, int] = field(default_factory=dict)


def _attempts(job: JobRecord) -> int:
    """Runs that were given back or expired: the attempts that count against max_retries."""
    return sum(
        1 for run in job.runs if run.state in (RunState.LEASE_RETURNED, RunState.LEASE_EXPIRED)
    )


def _retry_or_fail(job: JobRecord, run: RunRecord, rules: RetryRules, why: str) -> list[ev.Event]:
    attempts = _attempts(job) + 1  # this run is about to become one
    if job.spec.fail_fast:
        reason = f"{why}; the job is fail-fast, so it is not retried"
    elif attempts > rules.max_retries:
        reason = f"{why}; the job was tried {attempts} times (maxRetries is {rules.max_retries})"
    else:
        return [ev.JobRequeued(job_id=job.job_id, avoid_nodes=(run.node,) if run.node else ())]
    failure = ev.FailureInfo(
        reason=reason,
        category="internal",
        subcategory="max-runs-exceeded",
        cluster=run.executor,
        node=run.node,
        pod_name=run.pod_name,
        namespace=run.namespace,
    )
    return [ev.JobFailed(job_id=job.job_id, run_id=run.run_id, failure=failure)]


def events_for_report(
    job: JobRecord | None, report: RunReport, rules: RetryRules, executor: str
) -> list[ev.Event]:
    """The events ``executor``'s report leads to; none if it is late, about another run, or
    about a run leased to another executor (whose word on it is the only one that counts).
    Usage is the exception to lateness: a run's last period is reported as it ends."""
    if report.kind == "utilisation":
        return _utilisation(job, report, executor)
    if job is None or job.state.terminal:
        return []
    run = job.active_run
    if run is None or run.run_id != report.run_id or run.executor != executor:
        return []
    common = {"job_id": job.job_id, "run_id": run.run_id}
    where = {
        "pod_name": report.pod_name or run.pod_name,
        "namespace": report.namespace,
        "node": report.node or run.node,
    }
    kind = report.kind
    if kind == "assigned":
        if run.state is not RunState.LEASED:
            return []
        return [
            ev.JobRunAssigned(
                **common,
                **where,
                pod_number=report.pod_number,
                executor=run.executor,
                pool=run.pool,
            )
        ]
    if kind == "running":
        if run.state is RunState.RUNNING:
            return []
        return [
            ev.JobRunRunning(
                **common,
                **where,
                pod_number=report.pod_number,
                executor=run.executor,
                pool=run.pool,
            )
        ]
    if kind == "succeeded":
        return [
            ev.JobRunSucceeded(**common),
            ev.JobSucceeded(**common, executor=run.executor, **where),
        ]
    if kind == "failed":
        failure = report.failure or ev.FailureInfo(reason="the run failed")
        if not failure.cluster:
            failure = msgspec.structs.replace(failure, cluster=run.executor)
        return [ev.JobRunFailed(**common, failure=failure), ev.JobFailed(**common, failure=failure)]
    if kind == "lease_returned":
        returned = ev.JobRunLeaseReturned(
            **common,
            reason=report.reason,
            run_attempted=report.run_attempted,
            node=report.node or run.node,
            executor=run.executor,
            pod_name=report.pod_name or run.pod_name,
        )
        why = f"the lease was returned by {run.executor}: {report.reason or 'no reason given'}"
        return [returned, *_retry_or_fail(job, run, rules, why)]
    if kind == "cancelled":
        return [ev.JobRunCancelled(**common)]
    if kind == "ingress_info":
        return [
            ev.IngressInfo(
                **common, executor=run.executor, **where, addresses=dict(report.addresses)
            )
        ]
    return []


def _utilisation(job: JobRecord | None, report: RunReport, executor: str) -> list[ev.Event]:
    run = next((r for r in job.runs if r.run_id == report.run_id), None) if job else None
    if job is None or run is None or run.executor != executor:
        return []
    return [
        ev.JobRunUtilisation(
            job_id=job.job_id,
            run_id=run.run_id,
            executor=executor,
            node=report.node or run.node,
            pod_name=report.pod_name or run.pod_name,
            namespace=report.namespace or run.namespace,
            max_resources=dict(report.max_resources),
            avg_resources=dict(report.avg_resources),
            cumulative=dict(report.cumulative),
        )
    ]


def events_for_expired_executor(
    jobs: Iterable[JobRecord], executor: str, rules: RetryRules
) -> list[ev.Event]:
    """Every active run on ``executor`` loses its lease; each job is requeued or failed."""
    result: list[ev.Event] = []
    for job in jobs:
        run = job.active_run
        if run is None or run.executor != executor:
            continue
        result.append(
            ev.JobRunLeaseExpired(job_id=job.job_id, run_id=run.run_id, executor=executor)
        )
        why = f"executor {executor} stopped reporting (lease expired)"
        if rules.requeue_expired_leases:
            result.extend(_retry_or_fail(job, run, rules, why))
        else:
            failure = ev.FailureInfo(
                reason=why,
                category="internal",
                subcategory="lease-expired",
                cluster=executor,
                node=run.node,
            )
            result.append(ev.JobFailed(job_id=job.job_id, run_id=run.run_id, failure=failure))
    return result


def events_for_preemption_requests(jobs: Iterable[JobRecord]) -> list[ev.Event]:
    """Carry out users' preemption requests on jobs that still have an active run."""
    return [
        ev.JobRunPreempted(
            job_id=job.job_id,
            run_id=run.run_id,
            executor=run.executor,
            reason="preempted on request",
        )
        for job in jobs
        if job.preemption_requested and (run := job.active_run) is not None
    ]


def events_for_failed_gang(failed: JobRecord, members: Iterable[JobRecord]) -> list[ev.Event]:
    """A fail-fast gang fails whole: the other live members fail with the member's reason."""
    gang = failed.spec.gang
    if gang is None:
        return []
    reason = f"gang {gang.id}: member {failed.job_id} failed"
    failure = ev.FailureInfo(reason=reason, category="internal", subcategory="gang-member-failed")
    return [
        ev.JobFailed(
            job_id=job.job_id,
            run_id=job.active_run.run_id if job.active_run else "",
            failure=failure,
        )
        for job in members
        if job.job_id != failed.job_id and not job.state.terminal
    ]

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
from dataclasses import dataclass
from typing import Any

import msgspec

from armada.domain import events as ev
from armada.domain.lifecycle import JobRecord, RunRecord
from armada.domain.states import RunState


@dataclass(frozen=True)
class RetryRules:
    """How many times a job whose run was given back (or expired) is tried again."""

    max_retries: int = 3
    requeue_expired_leases: bool = True


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
    job: JobRecord | None, report: ev.RunEvent, rules: RetryRules, executor: str
) -> list[ev.Event]:
    """The events ``executor``'s report leads to; none if it is late, about another run, or
    about a run leased to another executor (whose word on it is the only one that counts).
    Usage is the exception to lateness: a run's last period is reported as it ends."""
    if isinstance(report, ev.JobRunUtilisation):
        return _utilisation(job, report, executor)
    if job is None or job.state.terminal:
        return []
    run = job.active_run
    if run is None or run.run_id != report.run_id or run.executor != executor:
        return []
    common: dict[str, Any] = {"job_id": job.job_id, "run_id": run.run_id}
    match report:
        case ev.JobRunAssigned():
            if run.state is not RunState.LEASED:
                return []
            return [ev.JobRunAssigned(**common, **_pod_fields(report, run))]
        case ev.JobRunRunning():
            if run.state is RunState.RUNNING:
                return []
            return [ev.JobRunRunning(**common, **_pod_fields(report, run))]
        case ev.JobRunSucceeded():
            where = {"pod_name": report.pod_name or run.pod_name, "node": report.node or run.node}
            return [
                ev.JobRunSucceeded(**common),
                ev.JobSucceeded(**common, executor=run.executor, namespace="", **where),
            ]
        case ev.JobRunFailed():
            return _failed(common, report.failure, run.executor)
        case ev.JobRunLeaseReturned():
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
        case ev.JobRunCancelled():
            return [ev.JobRunCancelled(**common)]
        case ev.IngressInfo():
            return [
                ev.IngressInfo(
                    **common,
                    executor=run.executor,
                    pod_name=report.pod_name or run.pod_name,
                    namespace=report.namespace,
                    node=report.node or run.node,
                    addresses=dict(report.addresses),
                )
            ]
    return []


def _pod_fields(report: ev.JobRunAssigned | ev.JobRunRunning, run: RunRecord) -> dict[str, Any]:
    """Where the run's pod is, as reported (what was left out as known already)."""
    return {
        "pod_name": report.pod_name or run.pod_name,
        "namespace": report.namespace,
        "node": report.node or run.node,
        "pod_number": report.pod_number,
        "executor": run.executor,
        "pool": run.pool,
    }


def _failed(common: dict[str, str], failure: ev.FailureInfo, executor: str) -> list[ev.Event]:
    """A failed run fails its job. What the executor left out is filled in: a reason, Armada's
    default cause, and the executor the run was on."""
    missing = {
        name: value
        for name, value in (
            ("reason", "the run failed"),
            ("cause", "Error"),
            ("cluster", executor),
        )
        if not getattr(failure, name)
    }
    if missing:
        failure = msgspec.structs.replace(failure, **missing)
    return [ev.JobRunFailed(**common, failure=failure), ev.JobFailed(**common, failure=failure)]


def _utilisation(
    job: JobRecord | None, report: ev.JobRunUtilisation, executor: str
) -> list[ev.Event]:
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

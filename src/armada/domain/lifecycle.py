"""The job lifecycle: one pure function that moves a job record by one event.

``apply_event(job, event, at, user)`` is the only way a job's state changes, everywhere: the
scheduler's in-memory job database and the query store both replay the log through it, so they
cannot disagree about what happened. State moves are checked against the table in
:mod:`armada.domain.states`.

Events that arrive too late to matter raise :class:`StaleEvent` rather than
:class:`InvalidTransition`. In a system where users, the scheduler and executors append
concurrently, these are expected (a cancel racing a success, an executor reporting on a run
the scheduler already expired) and are skipped by whoever applies them:

* any event about a job that is already terminal;
* any event about a run that is not the job's active run;
* a second ``SubmitJob`` for the same job id;
* any event about a job that was never submitted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from armada.domain.events import (
    CancelJob,
    CancelledJob,
    FailureInfo,
    IngressInfo,
    JobEvent,
    JobFailed,
    JobPreemptionRequested,
    JobRejected,
    JobRequeued,
    JobRunAssigned,
    JobRunCancelled,
    JobRunFailed,
    JobRunLeased,
    JobRunLeaseExpired,
    JobRunLeaseReturned,
    JobRunPreempted,
    JobRunRunning,
    JobRunSucceeded,
    JobRunUtilisation,
    JobSucceeded,
    JobValidated,
    ReprioritisedJob,
    ReprioritiseJob,
    SubmitJob,
)
from armada.domain.jobs import JobSpec
from armada.domain.states import (
    InvalidTransition,
    JobState,
    RunState,
    check_job_transition,
    check_run_transition,
)

replace = msgspec.structs.replace


class StaleEvent(Exception):
    """An event that no longer applies (see the module docstring). Skipped, not an error."""


# gc=False: see SchedulingRequirements (armada.domain.jobs).
class RunRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One attempt to run a job on an executor's node."""

    run_id: str
    job_id: str
    executor: str
    node: str
    pool: str
    state: RunState
    leased_at: float
    scheduled_at_priority: int = 0
    pending_at: float | None = None
    running_at: float | None = None
    finished_at: float | None = None
    pod_name: str = ""
    namespace: str = ""
    failure: FailureInfo | None = None
    reason: str = ""
    ingress_addresses: dict[int, str] = msgspec.field(default_factory=dict)
    gang_uniformity_value: str = ""

    @property
    def active(self) -> bool:
        return not self.state.terminal


# gc=False: see SchedulingRequirements (armada.domain.jobs).
class JobRecord(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """A job as it stands now: its spec, its state and its runs, oldest first."""

    spec: JobSpec
    state: JobState
    priority: int
    submitted_at: float
    last_transition: float
    runs: tuple[RunRecord, ...] = ()
    cancel_requested: bool = False
    cancel_reason: str = ""
    cancel_user: str = ""
    cancelled_at: float | None = None
    preemption_requested: bool = False
    validated_pools: tuple[str, ...] = ()
    avoid_nodes: tuple[str, ...] = ()
    error: str = ""
    failure: FailureInfo | None = None

    @property
    def job_id(self) -> str:
        return self.spec.job_id

    @property
    def latest_run(self) -> RunRecord | None:
        return self.runs[-1] if self.runs else None

    @property
    def active_run(self) -> RunRecord | None:
        run = self.latest_run
        return run if run is not None and run.active else None


def new_job(spec: JobSpec, at: float) -> JobRecord:
    return JobRecord(
        spec=spec,
        state=JobState.QUEUED,
        priority=spec.priority,
        submitted_at=at,
        last_transition=at,
    )


def _move_job(job: JobRecord, new: JobState, at: float, **changes: object) -> JobRecord:
    check_job_transition(job.job_id, job.state, new)
    return replace(job, state=new, last_transition=at, **changes)


def _move_run(run: RunRecord, new: RunState, **changes: object) -> RunRecord:
    check_run_transition(run.run_id, run.state, new)
    return replace(run, state=new, **changes)


def _active_run(job: JobRecord, run_id: str) -> RunRecord:
    run = job.active_run
    if run is None or run.run_id != run_id:
        raise StaleEvent(f"run {run_id} is not the active run of job {job.job_id}")
    return run


def _with_run(job: JobRecord, run: RunRecord) -> JobRecord:
    return replace(job, runs=(*job.runs[:-1], run))


def _finish_active_run(job: JobRecord, state: RunState, at: float, **changes: object) -> JobRecord:
    run = job.active_run
    if run is None:
        return job
    return _with_run(job, _move_run(run, state, finished_at=at, **changes))


def apply_event(job: JobRecord | None, event: JobEvent, at: float, user: str = "") -> JobRecord:
    """Return the job after ``event``; raise :class:`StaleEvent` or :class:`InvalidTransition`."""
    if isinstance(event, SubmitJob):
        if job is not None:
            raise StaleEvent(f"job {event.spec.job_id} was already submitted")
        return new_job(event.spec, at)
    if job is None:
        raise StaleEvent(f"job {event.job_id} was never submitted")
    if job.state.terminal:
        raise StaleEvent(f"job {job.job_id} is already {job.state}")
    return _APPLY[type(event)](job, event, at, user)


def _reprioritise(job: JobRecord, event: ReprioritiseJob, at: float, user: str) -> JobRecord:
    return job


def _reprioritised(job: JobRecord, event: ReprioritisedJob, at: float, user: str) -> JobRecord:
    return replace(job, priority=event.priority)


def _cancel(job: JobRecord, event: CancelJob, at: float, user: str) -> JobRecord:
    return replace(job, cancel_requested=True, cancel_reason=event.reason, cancel_user=user)


def _cancelled(job: JobRecord, event: CancelledJob, at: float, user: str) -> JobRecord:
    job = _finish_active_run(job, RunState.CANCELLED, at)
    return _move_job(
        job,
        JobState.CANCELLED,
        at,
        cancel_requested=True,
        cancel_reason=event.reason or job.cancel_reason,
        cancel_user=job.cancel_user or user,
        cancelled_at=at,
    )


def _preemption_requested(
    job: JobRecord, event: JobPreemptionRequested, at: float, user: str
) -> JobRecord:
    if job.active_run is None:
        raise StaleEvent(f"job {job.job_id} has no active run to preempt")
    return replace(job, preemption_requested=True)


def _validated(job: JobRecord, event: JobValidated, at: float, user: str) -> JobRecord:
    return replace(job, validated_pools=event.pools)


def _rejected(job: JobRecord, event: JobRejected, at: float, user: str) -> JobRecord:
    failure = FailureInfo(
        reason=event.reason, cause="Rejected", category="internal", subcategory="job-rejected"
    )
    return _move_job(job, JobState.REJECTED, at, error=event.reason, failure=failure)


def _leased(job: JobRecord, event: JobRunLeased, at: float, user: str) -> JobRecord:
    if job.active_run is not None:
        raise InvalidTransition(f"job {job.job_id} already has active run {job.active_run.run_id}")
    run = RunRecord(
        run_id=event.run_id,
        job_id=job.job_id,
        executor=event.executor,
        node=event.node,
        pool=event.pool,
        state=RunState.LEASED,
        leased_at=at,
        scheduled_at_priority=event.scheduled_at_priority,
        gang_uniformity_value=event.gang_uniformity_value,
    )
    return _move_job(job, JobState.LEASED, at, runs=(*job.runs, run), preemption_requested=False)


def _assigned(job: JobRecord, event: JobRunAssigned, at: float, user: str) -> JobRecord:
    run = _active_run(job, event.run_id)
    run = _move_run(
        run,
        RunState.PENDING,
        pending_at=at,
        pod_name=event.pod_name or run.pod_name,
        namespace=event.namespace or run.namespace,
        node=event.node or run.node,
    )
    return _move_job(_with_run(job, run), JobState.PENDING, at)


def _running(job: JobRecord, event: JobRunRunning, at: float, user: str) -> JobRecord:
    run = _active_run(job, event.run_id)
    run = _move_run(
        run,
        RunState.RUNNING,
        running_at=at,
        pending_at=run.pending_at or at,
        pod_name=event.pod_name or run.pod_name,
        namespace=event.namespace or run.namespace,
        node=event.node or run.node,
    )
    return _move_job(_with_run(job, run), JobState.RUNNING, at)


def _run_succeeded(job: JobRecord, event: JobRunSucceeded, at: float, user: str) -> JobRecord:
    run = _active_run(job, event.run_id)
    return _with_run(job, _move_run(run, RunState.SUCCEEDED, finished_at=at))


def _succeeded(job: JobRecord, event: JobSucceeded, at: float, user: str) -> JobRecord:
    job = _finish_active_run(job, RunState.SUCCEEDED, at)
    return _move_job(job, JobState.SUCCEEDED, at)


def _run_failed(job: JobRecord, event: JobRunFailed, at: float, user: str) -> JobRecord:
    run = _active_run(job, event.run_id)
    run = _move_run(
        run, RunState.FAILED, finished_at=at, failure=event.failure, reason=event.failure.reason
    )
    return _with_run(job, run)


def _failed(job: JobRecord, event: JobFailed, at: float, user: str) -> JobRecord:
    job = _finish_active_run(
        job, RunState.FAILED, at, failure=event.failure, reason=event.failure.reason
    )
    return _move_job(job, JobState.FAILED, at, error=event.failure.reason, failure=event.failure)


def _preempted(job: JobRecord, event: JobRunPreempted, at: float, user: str) -> JobRecord:
    run = _active_run(job, event.run_id)
    reason = event.reason or "preempted"
    job = _with_run(job, _move_run(run, RunState.PREEMPTED, finished_at=at, reason=reason))
    return _move_job(job, JobState.PREEMPTED, at, error=reason)


def _lease_returned(job: JobRecord, event: JobRunLeaseReturned, at: float, user: str) -> JobRecord:
    run = _active_run(job, event.run_id)
    run = _move_run(run, RunState.LEASE_RETURNED, finished_at=at, reason=event.reason)
    return _with_run(job, run)


def _lease_expired(job: JobRecord, event: JobRunLeaseExpired, at: float, user: str) -> JobRecord:
    run = _active_run(job, event.run_id)
    run = _move_run(run, RunState.LEASE_EXPIRED, finished_at=at, reason="lease expired")
    return _with_run(job, run)


def _run_cancelled(job: JobRecord, event: JobRunCancelled, at: float, user: str) -> JobRecord:
    run = _active_run(job, event.run_id)
    return _with_run(job, _move_run(run, RunState.CANCELLED, finished_at=at))


def _requeued(job: JobRecord, event: JobRequeued, at: float, user: str) -> JobRecord:
    if job.active_run is not None:
        raise InvalidTransition(
            f"job {job.job_id} cannot be requeued while run {job.active_run.run_id} is active"
        )
    avoid = tuple(dict.fromkeys((*job.avoid_nodes, *event.avoid_nodes)))
    return _move_job(job, JobState.QUEUED, at, avoid_nodes=avoid, preemption_requested=False)


def _ingress(job: JobRecord, event: IngressInfo, at: float, user: str) -> JobRecord:
    run = _active_run(job, event.run_id)
    return _with_run(job, replace(run, ingress_addresses=dict(event.addresses)))


def _utilisation(job: JobRecord, event: JobRunUtilisation, at: float, user: str) -> JobRecord:
    """Usage figures move nothing: the job stays as it is (they live in the event streams)."""
    return job


_APPLY: dict[type, Callable[[JobRecord, Any, float, str], JobRecord]] = {
    ReprioritiseJob: _reprioritise,
    ReprioritisedJob: _reprioritised,
    CancelJob: _cancel,
    CancelledJob: _cancelled,
    JobPreemptionRequested: _preemption_requested,
    JobValidated: _validated,
    JobRejected: _rejected,
    JobRunLeased: _leased,
    JobRunAssigned: _assigned,
    JobRunRunning: _running,
    JobRunSucceeded: _run_succeeded,
    JobSucceeded: _succeeded,
    JobRunFailed: _run_failed,
    JobFailed: _failed,
    JobRunPreempted: _preempted,
    JobRunLeaseReturned: _lease_returned,
    JobRunLeaseExpired: _lease_expired,
    JobRunCancelled: _run_cancelled,
    JobRequeued: _requeued,
    IngressInfo: _ingress,
    JobRunUtilisation: _utilisation,
}


def validate_job(job: JobRecord) -> None:
    """Check the invariants of one job record; raise AssertionError naming the broken one.

    A job in an active state may briefly have no active run: between a run's end
    (``JobRunSucceeded``, ``JobRunLeaseReturned``...) and the job-level decision that follows it
    in the same sequence (``JobSucceeded``, ``JobRequeued``...).
    """
    active = [r for r in job.runs if r.active]
    assert len(active) <= 1, f"job {job.job_id} has {len(active)} active runs"
    if not active:
        return
    assert active[0] is job.runs[-1], f"job {job.job_id}: the active run is not the latest"
    expected = {
        JobState.LEASED: RunState.LEASED,
        JobState.PENDING: RunState.PENDING,
        JobState.RUNNING: RunState.RUNNING,
    }.get(job.state)
    assert expected is not None, f"job {job.job_id} is {job.state} but has an active run"
    assert active[0].state == expected, (
        f"job {job.job_id} is {job.state} but its run is {active[0].state}"
    )

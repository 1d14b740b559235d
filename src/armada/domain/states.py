"""Job and run states, and the one table of moves between them.

Every change of a job's or a run's state in the whole system goes through
:func:`check_job_transition` / :func:`check_run_transition`. A move that is not in the table
raises :class:`InvalidTransition`. Each edge carries a line saying what drives it, so the table
doubles as the lifecycle's documentation: the tables of docs/lifecycle.md are generated from
these words (``python -m armada.docgen``), and a test keeps them current.
"""

from __future__ import annotations

import enum


class InvalidTransition(Exception):
    """A state change that the lifecycle table does not allow."""


class JobState(enum.StrEnum):
    """The state of a job. Values are the names Armada's API uses (``api.JobState``)."""

    QUEUED = "QUEUED"
    LEASED = "LEASED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    PREEMPTED = "PREEMPTED"
    REJECTED = "REJECTED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_JOB_STATES

    @property
    def active(self) -> bool:
        """Leased, pending or running: the job has a run that holds resources."""
        return self in ACTIVE_JOB_STATES


class RunState(enum.StrEnum):
    """The state of one attempt (run) of a job on an executor."""

    LEASED = "LEASED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    PREEMPTED = "PREEMPTED"
    LEASE_RETURNED = "LEASE_RETURNED"
    LEASE_EXPIRED = "LEASE_EXPIRED"

    @property
    def terminal(self) -> bool:
        return self not in ACTIVE_RUN_STATES


TERMINAL_JOB_STATES = frozenset(
    {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.PREEMPTED, JobState.REJECTED}
)
ACTIVE_JOB_STATES = frozenset({JobState.LEASED, JobState.PENDING, JobState.RUNNING})
ACTIVE_RUN_STATES = frozenset({RunState.LEASED, RunState.PENDING, RunState.RUNNING})

_Q, _L, _P, _R = JobState.QUEUED, JobState.LEASED, JobState.PENDING, JobState.RUNNING

JOB_TRANSITIONS: dict[tuple[JobState, JobState], str] = {
    (_Q, _L): "JobRunLeased: the scheduler placed the job on a node",
    (_L, _P): "JobRunAssigned: the executor created the pod and it is bound to the node",
    (_L, _R): "JobRunRunning: the pod started before its pending report arrived",
    (_P, _R): "JobRunRunning: the pod's containers started",
    **{
        (s, JobState.SUCCEEDED): "JobSucceeded: the run ended with every container exit code 0"
        for s in (_L, _P, _R)
    },
    **{
        (s, JobState.FAILED): "JobFailed: the run failed, it cannot be retried any more, "
        "or its fail-fast gang failed"
        for s in (_Q, _L, _P, _R)
    },
    **{
        (s, JobState.PREEMPTED): "JobRunPreempted: the scheduler or a user preempted the run"
        for s in (_L, _P, _R)
    },
    **{
        (s, _Q): "JobRequeued: the run's lease was returned or expired and a retry is allowed"
        for s in (_L, _P, _R)
    },
    (_Q, JobState.REJECTED): "JobRejected: the submit check found no node that could ever fit it",
    **{(s, JobState.CANCELLED): "CancelledJob: a user cancelled the job" for s in (_Q, _L, _P, _R)},
}

_RL, _RP, _RR = RunState.LEASED, RunState.PENDING, RunState.RUNNING

RUN_TRANSITIONS: dict[tuple[RunState, RunState], str] = {
    (_RL, _RP): "JobRunAssigned: pod created and bound",
    (_RL, _RR): "JobRunRunning: pod started (pending report skipped or late)",
    (_RP, _RR): "JobRunRunning: containers started",
    **{
        (s, RunState.SUCCEEDED): "JobRunSucceeded / JobSucceeded: all containers exited 0"
        for s in (_RL, _RP, _RR)
    },
    **{
        (s, RunState.FAILED): "JobRunFailed / JobFailed: a container failed, the pod could not "
        "run, or the job failed with the run still active (its fail-fast gang failed)"
        for s in (_RL, _RP, _RR)
    },
    **{
        (s, RunState.CANCELLED): "CancelledJob / JobRunCancelled: the job was cancelled"
        for s in (_RL, _RP, _RR)
    },
    **{(s, RunState.PREEMPTED): "JobRunPreempted: the run was preempted" for s in (_RL, _RP, _RR)},
    **{
        (s, RunState.LEASE_RETURNED): "JobRunLeaseReturned: the executor could not run the pod"
        for s in (_RL, _RP, _RR)
    },
    **{
        (s, RunState.LEASE_EXPIRED): "JobRunLeaseExpired: the executor stopped heartbeating"
        for s in (_RL, _RP, _RR)
    },
}


def check_job_transition(job_id: str, old: JobState, new: JobState) -> None:
    """Raise :class:`InvalidTransition` unless ``old -> new`` is in the job table."""
    if (old, new) not in JOB_TRANSITIONS:
        raise InvalidTransition(f"job {job_id}: {old} -> {new} is not a valid transition")


def check_run_transition(run_id: str, old: RunState, new: RunState) -> None:
    """Raise :class:`InvalidTransition` unless ``old -> new`` is in the run table."""
    if (old, new) not in RUN_TRANSITIONS:
        raise InvalidTransition(f"run {run_id}: {old} -> {new} is not a valid transition")

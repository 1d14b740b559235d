"""The job lifecycle: one table of moves, enforced by one function."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from armada.domain import events as ev
from armada.domain.lifecycle import JobRecord, StaleEvent, apply_event, validate_job
from armada.domain.states import (
    JOB_TRANSITIONS,
    RUN_TRANSITIONS,
    InvalidTransition,
    JobState,
    RunState,
    check_job_transition,
)
from tests.builders import submit

FAIL = ev.FailureInfo(reason="exit code 1", exit_codes={"main": 1})


def run(job: JobRecord | None, *events: ev.JobEvent, at: float = 100.0) -> JobRecord:
    for i, event in enumerate(events):
        job = apply_event(job, event, at + i, user="alice")
        validate_job(job)
    assert job is not None
    return job


def lease(run_id: str = "r1") -> ev.JobRunLeased:
    return ev.JobRunLeased(job_id="job-1", run_id=run_id, executor="c1", node="n1", pool="default")


def test_the_happy_path_goes_queued_leased_pending_running_succeeded() -> None:
    job = run(None, submit())
    assert job.state is JobState.QUEUED
    job = run(job, lease())
    assert job.state is JobState.LEASED and job.active_run is not None
    job = run(job, ev.JobRunAssigned(job_id="job-1", run_id="r1", pod_name="armada-job-1-0"))
    assert job.state is JobState.PENDING and job.runs[0].pod_name == "armada-job-1-0"
    job = run(job, ev.JobRunRunning(job_id="job-1", run_id="r1", node="n1"))
    assert job.state is JobState.RUNNING
    job = run(job, ev.JobRunSucceeded(job_id="job-1", run_id="r1"), ev.JobSucceeded(job_id="job-1"))
    assert job.state is JobState.SUCCEEDED
    assert job.runs[0].state is RunState.SUCCEEDED and job.runs[0].finished_at is not None


def test_a_failed_run_fails_the_job_and_keeps_the_reason() -> None:
    job = run(
        None,
        submit(),
        lease(),
        ev.JobRunFailed(job_id="job-1", run_id="r1", failure=FAIL),
        ev.JobFailed(job_id="job-1", failure=FAIL, run_id="r1"),
    )
    assert job.state is JobState.FAILED
    assert job.error == "exit code 1"
    assert job.runs[0].failure == FAIL


def test_cancelling_a_running_job_cancels_its_run() -> None:
    job = run(
        None,
        submit(),
        lease(),
        ev.JobRunRunning(job_id="job-1", run_id="r1"),
        ev.CancelJob(job_id="job-1", reason="no longer needed"),
        ev.CancelledJob(job_id="job-1"),
    )
    assert job.state is JobState.CANCELLED
    assert job.runs[0].state is RunState.CANCELLED
    assert (job.cancel_reason, job.cancel_user) == ("no longer needed", "alice")


def test_a_returned_lease_requeues_with_the_node_to_avoid_then_leases_again() -> None:
    job = run(
        None,
        submit(),
        lease("r1"),
        ev.JobRunLeaseReturned(job_id="job-1", run_id="r1", reason="image pull"),
        ev.JobRequeued(job_id="job-1", avoid_nodes=("n1",)),
        lease("r2"),
    )
    assert job.state is JobState.LEASED
    assert [r.state for r in job.runs] == [RunState.LEASE_RETURNED, RunState.LEASED]
    assert job.avoid_nodes == ("n1",)


def test_preemption_ends_the_job_preempted() -> None:
    job = run(
        None,
        submit(),
        lease(),
        ev.JobRunRunning(job_id="job-1", run_id="r1"),
        ev.JobRunPreempted(job_id="job-1", run_id="r1", reason="fair share"),
    )
    assert job.state is JobState.PREEMPTED
    assert job.runs[0].state is RunState.PREEMPTED


def test_reprioritisation_takes_effect_when_reprioritised() -> None:
    job = run(None, submit(), ev.ReprioritiseJob(job_id="job-1", priority=7))
    assert job.priority == 0
    job = run(job, ev.ReprioritisedJob(job_id="job-1", priority=7))
    assert job.priority == 7 and job.spec.priority == 0


def test_rejection_is_terminal_and_says_why() -> None:
    job = run(
        None, submit(), ev.JobRejected(job_id="job-1", reason="needs 64 cpu; largest node has 32")
    )
    assert job.state is JobState.REJECTED and "64 cpu" in job.error


@pytest.mark.parametrize(
    "late_event",
    [
        ev.CancelledJob(job_id="job-1"),
        ev.ReprioritisedJob(job_id="job-1", priority=3),
        ev.JobRunRunning(job_id="job-1", run_id="r1"),
        lease("r9"),
    ],
)
def test_events_about_a_finished_job_are_stale(late_event: ev.JobEvent) -> None:
    job = run(
        None,
        submit(),
        lease(),
        ev.JobRunSucceeded(job_id="job-1", run_id="r1"),
        ev.JobSucceeded(job_id="job-1"),
    )
    with pytest.raises(StaleEvent):
        apply_event(job, late_event, 200.0)


def test_events_about_an_old_run_are_stale() -> None:
    job = run(
        None,
        submit(),
        lease("r1"),
        ev.JobRunLeaseExpired(job_id="job-1", run_id="r1"),
        ev.JobRequeued(job_id="job-1"),
        lease("r2"),
    )
    with pytest.raises(StaleEvent):
        apply_event(job, ev.JobRunRunning(job_id="job-1", run_id="r1"), 200.0)


def test_duplicate_submission_and_unknown_jobs_are_stale() -> None:
    job = run(None, submit())
    with pytest.raises(StaleEvent):
        apply_event(job, submit(), 1.0)
    with pytest.raises(StaleEvent):
        apply_event(None, ev.CancelledJob(job_id="job-1"), 1.0)


def test_moves_not_in_the_table_raise() -> None:
    job = run(None, submit(), lease(), ev.JobRunRunning(job_id="job-1", run_id="r1"))
    with pytest.raises(InvalidTransition):
        apply_event(job, ev.JobRunAssigned(job_id="job-1", run_id="r1"), 1.0)
    with pytest.raises(InvalidTransition):
        apply_event(job, lease("r2"), 1.0)
    with pytest.raises(InvalidTransition):
        apply_event(job, ev.JobRequeued(job_id="job-1"), 1.0)
    queued = run(None, submit())
    with pytest.raises(InvalidTransition):
        apply_event(queued, ev.JobSucceeded(job_id="job-1"), 1.0)
    with pytest.raises(InvalidTransition):
        check_job_transition("j", JobState.SUCCEEDED, JobState.QUEUED)


def test_every_table_edge_has_a_reason() -> None:
    for table in (JOB_TRANSITIONS, RUN_TRANSITIONS):
        for (old, new), why in table.items():
            assert old != new and why.split(":")[0], (old, new)
    for old, _new in JOB_TRANSITIONS:
        assert not old.terminal, "no move leaves a terminal state"


_EVENT_NAMES = [
    "lease",
    "assign",
    "running",
    "run_succeeded",
    "succeeded",
    "run_failed",
    "failed",
    "cancel",
    "cancelled",
    "preempt",
    "returned",
    "expired",
    "requeue",
    "reprioritised",
    "reject",
]


def make_event(name: str, run_id: str, next_run_id: str, step: int) -> ev.JobEvent:
    j = "job-1"
    events: dict[str, ev.JobEvent] = {
        "lease": lease(next_run_id),
        "assign": ev.JobRunAssigned(job_id=j, run_id=run_id),
        "running": ev.JobRunRunning(job_id=j, run_id=run_id),
        "run_succeeded": ev.JobRunSucceeded(job_id=j, run_id=run_id),
        "succeeded": ev.JobSucceeded(job_id=j),
        "run_failed": ev.JobRunFailed(job_id=j, run_id=run_id, failure=FAIL),
        "failed": ev.JobFailed(job_id=j, failure=FAIL),
        "cancel": ev.CancelJob(job_id=j),
        "cancelled": ev.CancelledJob(job_id=j),
        "preempt": ev.JobRunPreempted(job_id=j, run_id=run_id),
        "returned": ev.JobRunLeaseReturned(job_id=j, run_id=run_id),
        "expired": ev.JobRunLeaseExpired(job_id=j, run_id=run_id),
        "requeue": ev.JobRequeued(job_id=j),
        "reprioritised": ev.ReprioritisedJob(job_id=j, priority=step),
        "reject": ev.JobRejected(job_id=j, reason="x"),
    }
    return events[name]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_EVENT_NAMES), max_size=25))
def test_any_sequence_of_events_keeps_the_invariants(names: list[str]) -> None:
    """Whatever arrives, in whatever order: either it applies, or it is refused, never corrupts."""
    job = apply_event(None, submit(), 0.0)
    runs = 0
    for step, name in enumerate(names):
        event = make_event(name, f"r{runs}", f"r{runs + 1}", step)
        before = job
        try:
            job = apply_event(job, event, float(step + 1))
        except (StaleEvent, InvalidTransition):
            assert job is before
            continue
        if name == "lease":
            runs += 1
        validate_job(job)
        assert not before.state.terminal, "a terminal job changed"
        if job.state != before.state:
            assert (before.state, job.state) in JOB_TRANSITIONS

"""The scheduler's duties, each a function of its state and one stimulus that returns what to
do: the events to append, executors to forget, lease streams to wake.

In the manner of a state machine (dask's ``WorkerState.handle_stimulus``): a duty reads and
updates :class:`~armada.schedulerservice.state.SchedulerState` and returns
:data:`Instruction` values; it does no I/O. Whatever it needs from outside (the time, the
queues, a job the database let go) is passed in. The shell
(:class:`~armada.schedulerservice.service.SchedulerService`) carries the instructions out in
order, appending events to the log and reading them back before the next one.

The stimuli: the periodic tick (lease expiry, users' requests, the round when due) and an
executor's run reports. The submit check is in :mod:`armada.schedulerservice.submissions`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from armada.config.scheduling import SchedulingSettings
from armada.domain import events as ev
from armada.domain.clock import IdSource
from armada.domain.lifecycle import JobRecord, StaleEvent, apply_event
from armada.domain.queues import Queue
from armada.domain.states import InvalidTransition
from armada.schedulerservice.rules import (
    RetryRules,
    events_for_expired_executor,
    events_for_failed_gang,
    events_for_preemption_requests,
    events_for_report,
)
from armada.schedulerservice.state import SchedulerState
from armada.scheduling import JobDbSnapshot, Node, SchedulingSnapshot, gc_paused
from armada.scheduling import schedule as run_scheduling_round
from armada.scheduling.round_data import SchedulingResult

Pairs = list[tuple[JobRecord, ev.Event]]  # events, each with the job it is about


@dataclass(frozen=True, slots=True)
class Append:
    """Append these events to the log (grouped per job set, order kept), then read it."""

    events: Pairs
    who: str
    cause: str


@dataclass(frozen=True, slots=True)
class ForgetExecutor:
    """The executor timed out and its leases expired: forget it, and say why."""

    executor_id: str
    why: str


@dataclass(frozen=True, slots=True)
class WakeLeaseStreams:
    """A round leased or preempted something: lease streams have news for their executor."""


Instruction = Append | ForgetExecutor | WakeLeaseStreams


def expire_silent_executors(
    state: SchedulerState, now: float, timeout: float, rules: RetryRules
) -> list[Instruction]:
    """Every executor silent for over ``timeout`` (at ``now``, monotonic) loses its leases,
    and is forgotten once that is in the log."""
    out: list[Instruction] = []
    snap = state.jobdb.read()
    for executor in state.executors.timed_out(now, timeout):
        executor_id = executor.executor_id
        jobs = jobs_on_executor(state, snap, executor_id)
        events = events_for_expired_executor(jobs.values(), executor_id, rules)
        out.append(
            Append(_paired(jobs, events), "scheduler", f"scheduler/lease-expiry/{executor_id}")
        )
        why = f"silent for over {timeout}s: {len(jobs)} runs lost their lease"
        out.append(ForgetExecutor(executor_id, why))
    return out


def jobs_on_executor(
    state: SchedulerState, snap: JobDbSnapshot, executor_id: str
) -> dict[str, JobRecord]:
    """Jobs with an active run on the executor, whichever node (reported or not) it is on."""
    jobs: dict[str, JobRecord] = {}
    for job_id in state.active_runs.on(executor_id).values():
        job = snap.get(job_id)
        if job is not None:
            jobs[job_id] = job
    return jobs


def carry_out_requests(state: SchedulerState) -> list[Instruction]:
    """Users' preemption requests, and the rest of each fail-fast gang one of whose members
    failed."""
    snap = state.jobdb.read()
    pairs: Pairs = []
    if state.preemption_requests:
        jobs = [j for j in map(snap.get, state.preemption_requests) if j is not None]
        state.preemption_requests.clear()
        by_id = {j.job_id: j for j in jobs}
        pairs += _paired(by_id, events_for_preemption_requests(jobs))
    failed, state.failed_gang_members = state.failed_gang_members, []
    for member in failed:
        gang = member.spec.gang
        assert gang is not None
        others = [j for j in map(snap.get, snap.gang(member.spec.queue, gang.id)) if j]
        by_id = {j.job_id: j for j in others}
        pairs += _paired(by_id, events_for_failed_gang(member, others))
    return [Append(pairs, "scheduler", "scheduler/requests")]


def round_due(state: SchedulerState, now: float, period: float, early: float) -> bool:
    """Every ``period``; sooner (after ``early``) when new jobs arrived, or when runs ended
    while jobs wait (short jobs would otherwise leave their room idle until the period is
    over). ``now`` is monotonic."""
    since = now - state.last_round_at
    if since >= period:
        return True
    if early <= 0 or since < early:
        return False
    return state.jobs_arrived or (state.capacity_freed and state.jobdb.read().has_queued())


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundInputs:
    """What a round needs from outside the state, gathered by the shell."""

    nodes: list[Node]
    queues: list[Queue]
    cordoned_executors: frozenset[str]
    now: float  # wall clock
    monotonic: Callable[[], float]  # for the round's own time budget
    ids: IdSource  # new run ids


def schedule_round(
    state: SchedulerState, inputs: RoundInputs, settings: SchedulingSettings
) -> tuple[SchedulingResult, list[Instruction]]:
    """A scheduling round: its result, and the preemptions and leases to append."""
    state.cycle += 1
    snap = state.jobdb.read()
    snapshot = SchedulingSnapshot(
        jobs=snap,
        nodes=inputs.nodes,
        queues=inputs.queues,
        now=inputs.now,
        cordoned_executors=inputs.cordoned_executors,
        rate_limits=state.rate_limits,
        cycle=state.cycle,
    )
    with gc_paused():  # see armada.scheduling.gcpause: rounds allocate but leave no cycles
        result = run_scheduling_round(snapshot, settings, monotonic=inputs.monotonic)
    state.rate_limits = result.rate_limits
    state.history.record(result)
    pairs: Pairs = []
    for preemption in result.preemptions:
        job = snap.get(preemption.job_id)
        if job is not None and job.active_run is not None:
            preempted = ev.JobRunPreempted(
                job_id=job.job_id,
                run_id=preemption.run_id,
                executor=job.active_run.executor,
                reason=preemption.reason,
                preempting_job_id=preemption.preempting_job_id,
            )
            pairs.append((job, preempted))
    for lease in result.leases:
        job = snap.get(lease.job_id)
        if job is not None:
            leased = ev.JobRunLeased(
                job_id=lease.job_id,
                run_id=inputs.ids.run_id(),
                executor=lease.executor,
                node=lease.node,
                pool=lease.pool,
                scheduled_at_priority=lease.scheduled_at_priority,
                gang_uniformity_value=lease.gang_uniformity_value,
            )
            pairs.append((job, leased))
    out: list[Instruction] = [Append(pairs, "scheduler", f"scheduler/cycle-{state.cycle}")]
    if result.leases or result.preemptions:
        out.append(WakeLeaseStreams())
    return result, out


def handle_reports(
    state: SchedulerState,
    executor_id: str,
    reports: Sequence[ev.RunEvent],
    *,
    rules: RetryRules,
    now: float,
    stored_job: Callable[[str], JobRecord | None],
) -> list[Instruction]:
    """An executor's run reports, as events. ``stored_job`` finds a job the job database let
    go (the last usage period of an ended job comes after its end)."""
    snap = state.jobdb.read()
    pairs: Pairs = []
    pending: dict[str, JobRecord] = {}
    for report in reports:
        job = pending.get(report.job_id) or snap.get(report.job_id)
        if job is None and isinstance(report, ev.JobRunUtilisation):
            job = stored_job(report.job_id)
        events = events_for_report(job, report, rules, executor_id)
        if job is None or not events:
            continue
        pairs += [(job, e) for e in events]
        # Later reports in the same batch must see this one's effect.
        pending[job.job_id] = _after(job, events, now)
    return [Append(pairs, executor_id, f"executor/{executor_id}")]


def _paired(jobs: dict[str, JobRecord], events: Iterable[ev.Event]) -> Pairs:
    """Each event with the job it is about (events about unknown jobs are dropped)."""
    pairs = []
    for event in events:
        job = jobs.get(ev.event_job_id(event) or "")
        if job is not None:
            pairs.append((job, event))
    return pairs


def _after(job: JobRecord, events: Iterable[ev.Event], at: float) -> JobRecord:
    for event in events:
        try:
            job = apply_event(job, event, at)  # type: ignore[arg-type]
        except (StaleEvent, InvalidTransition):
            continue
    return job

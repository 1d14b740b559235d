"""Scheduling, queue and job reports: the last rounds' decisions, in words a user reads.

The scheduler service keeps a :class:`ReportHistory` of recent :class:`SchedulingResult`s (a
bounded number, ``reportRoundsKept``) and renders these on request (armadactl, the web UI's
"Scheduling" tab). Rendering is pure and cheap; nothing here is computed during the round.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime

from armada.domain.resources import format_resources
from armada.scheduling.round_data import PoolReport, QueueRound, SchedulingResult


class ReportHistory:
    """The last ``rounds_kept`` results, newest last."""

    def __init__(self, rounds_kept: int = 10) -> None:
        self._rounds: deque[SchedulingResult] = deque(maxlen=rounds_kept)

    def record(self, result: SchedulingResult) -> None:
        self._rounds.append(result)

    @property
    def rounds(self) -> list[SchedulingResult]:
        return list(self._rounds)

    def newest_first(self) -> Iterable[SchedulingResult]:
        return reversed(self._rounds)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _res(resources: dict[str, int]) -> str:
    return format_resources(resources) if resources else "nothing"


def _capacity(p: PoolReport) -> str:
    """The capacity as the nodes offer it; and, if the resolutions of
    ``scheduling.indexedResources`` round it down, what the scheduler then uses."""
    if not p.offered or p.offered == p.capacity:
        return f"capacity {_res(p.capacity)}"
    rounded = {k: p.capacity.get(k, 0) for k, v in p.offered.items() if p.capacity.get(k, 0) != v}
    return (
        f"capacity {_res(p.offered)} (schedulable after rounding each node down to the "
        f"indexed resources' resolution: {_res(rounded)})"
    )


def _queue_lines(q: QueueRound, verbosity: int) -> list[str]:
    lines = [
        f"  queue {q.queue}{' (cordoned)' if q.cordoned else ''}: weight {q.weight:g}, "
        f"fair share {q.fair_share:.1%}, adjusted {q.adjusted_fair_share:.1%}, "
        f"actual {q.actual_share:.1%} -> {q.share_after:.1%}; "
        f"scheduled {q.scheduled_jobs}, preempted {q.preempted_jobs}, evicted {q.evicted_jobs}, "
        f"running {q.running_jobs}, queued {q.queued_jobs}"
    ]
    if verbosity >= 2:
        lines.extend(f"    {reason}" for reason in q.reasons)
    return lines


def _pool_lines(p: PoolReport, verbosity: int) -> list[str]:
    lines = [
        f"Pool {p.pool}, cycle {p.cycle}, at {_when(p.started)}, took {p.duration * 1000:.0f} ms",
        f"  ended: {p.termination_reason}",
        f"  nodes: {p.nodes} ({p.schedulable_nodes} schedulable); {_capacity(p)}",
        f"  scheduled {p.scheduled_jobs} jobs ({p.scheduled_gangs} gangs): "
        f"{_res(p.scheduled_resources)}",
        f"  preempted {p.preempted_jobs} jobs: {_res(p.preempted_resources)}",
    ]
    if verbosity >= 1:
        for q in p.queues:
            lines.extend(_queue_lines(q, verbosity))
    return lines


def scheduling_report(history: ReportHistory, verbosity: int = 0) -> str:
    """The latest round, pool by pool. Verbosity 1 adds queues, 2 adds their reasons."""
    rounds = history.rounds
    if not rounds:
        return "No scheduling round has run yet."
    lines: list[str] = []
    for pool in rounds[-1].pools:
        lines.extend(_pool_lines(pool, verbosity))
    return "\n".join(lines) if lines else "The last round had no pools (no nodes, no jobs)."


def queue_report(history: ReportHistory, queue: str, verbosity: int = 2) -> str:
    """One queue in the latest round (every pool), then its recent history."""
    rounds = history.rounds
    if not rounds:
        return "No scheduling round has run yet."
    lines: list[str] = []
    for pool in rounds[-1].pools:
        for q in pool.queues:
            if q.queue == queue:
                lines.append(f"Pool {pool.pool}, cycle {pool.cycle}:")
                lines.extend(_queue_lines(q, verbosity))
    if not lines:
        lines.append(f"Queue {queue} was not active in the last round (no queued or running jobs).")
    recent = []
    for result in history.newest_first():
        scheduled = sum(1 for lease in result.leases if lease.queue == queue)
        preempted = sum(1 for p in result.preemptions if p.queue == queue)
        recent.append(f"  cycle {result.cycle}: scheduled {scheduled}, preempted {preempted}")
    return "\n".join([*lines, "Recent rounds:", *recent])


def job_report(history: ReportHistory, job_id: str, queue: str, key_id: int) -> str:
    """What the last rounds decided for one job, newest first (``key_id``: its scheduling key)."""
    lines: list[str] = []
    for result in history.newest_first():
        lease = next((x for x in result.leases if x.job_id == job_id), None)
        if lease is not None:
            gang = f" with gang {lease.gang_id}" if lease.gang_id else ""
            lines.append(
                f"cycle {result.cycle}: scheduled on node {lease.node} of executor "
                f"{lease.executor} (pool {lease.pool}) at priority "
                f"{lease.scheduled_at_priority}{gang}"
            )
            break
        preemption = next((p for p in result.preemptions if p.job_id == job_id), None)
        if preemption is not None:
            lines.append(f"cycle {result.cycle}: run {preemption.run_id} {preemption.reason}")
            break
        reason = result.reason_for(job_id, queue, key_id)
        if reason is not None:
            lines.append(f"cycle {result.cycle}: not scheduled: {reason}")
    if not lines:
        return f"Job {job_id} was not considered in the last {len(history.rounds)} rounds."
    return "\n".join([f"Job {job_id}:", *lines])

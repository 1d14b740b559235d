"""Turning a finished pool round into its report data (:class:`PoolReport`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from armada.scheduling.model import PoolReport, QueueRound

if TYPE_CHECKING:
    from armada.scheduling.pool_round import PoolRound

MAX_REASONS_PER_QUEUE = 5


def _queue_reasons(r: PoolRound, queue: str) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for kr in r.c.key_reasons:
        if kr.pool == r.pool and kr.queue == queue:
            counts[kr.reason] = counts.get(kr.reason, 0) + kr.jobs
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(f"{n} jobs: {reason}" for reason, n in ranked[:MAX_REASONS_PER_QUEUE])


def build_report(r: PoolRound, duration: float) -> PoolReport:
    space = r.c.space
    zero = r.zero
    scheduled = list(zero)
    scheduled_by_queue: dict[str, list[int]] = {}
    scheduled_count: dict[str, int] = {}
    gangs: set[tuple[str, str]] = set()  # (queue, gang id): an undone gang leaves no member
    for new in r.new_here.values():
        scheduled_count[new.queue] = scheduled_count.get(new.queue, 0) + 1
        if new.gang_id:
            gangs.add((new.queue, new.gang_id))
        per_queue = scheduled_by_queue.setdefault(new.queue, list(zero))
        for i, v in enumerate(new.info.request):
            scheduled[i] += v
            per_queue[i] += v
    preempted = list(zero)
    for job_id in r.preempted:
        for i, v in enumerate(r.c.info(r.running[job_id]).request):
            preempted[i] += v
    queues = []
    for q in r.active:
        stats = r.stats.get(q, {})
        queues.append(
            QueueRound(
                queue=q,
                weight=r.weights[q],
                fair_share=r.fair.get(q, 0.0),
                adjusted_fair_share=r.adjusted.get(q, 0.0),
                actual_share=r.actual_start.get(q, 0.0),
                share_after=r.cost(r.alloc.get(q, zero)),
                demand_share=r.demand.get(q, 0.0),
                cordoned=r.c.queues[q].cordoned,
                queued_jobs=r.queued_here.get(q, 0),
                running_jobs=stats.get("running", 0),
                scheduled_jobs=scheduled_count.get(q, 0),
                scheduled_resources=space.as_dict(scheduled_by_queue.get(q, zero)),
                preempted_jobs=stats.get("preempted", 0),
                evicted_jobs=stats.get("evicted", 0),
                reasons=_queue_reasons(r, q),
            )
        )
    return PoolReport(
        pool=r.pool,
        cycle=r.c.number,
        started=r.c.now,
        duration=duration,
        termination_reason=r.stop_reason or "all queues exhausted",
        nodes=len(r.db.nodes),
        schedulable_nodes=int(r.db.schedulable.sum()),
        capacity=space.as_dict(r.total),
        offered=r.db.offered(),
        scheduled_jobs=len(r.new_here),
        scheduled_gangs=len(gangs),
        scheduled_resources=space.as_dict(scheduled),
        preempted_jobs=len(r.preempted),
        preempted_resources=space.as_dict(preempted),
        queues=tuple(queues),
    )

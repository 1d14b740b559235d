"""Turning a finished pool round into its report data (:class:`PoolReport`)."""

from __future__ import annotations

from armada.scheduling.pool_state import Placements, PoolContext, Running
from armada.scheduling.round_data import PoolReport, QueueRound
from armada.scheduling.shares import Shares

MAX_REASONS_PER_QUEUE = 5


def _queue_reasons(ctx: PoolContext, queue: str) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for kr in ctx.cycle.key_reasons:
        if kr.pool == ctx.pool and kr.queue == queue:
            counts[kr.reason] = counts.get(kr.reason, 0) + kr.jobs
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(f"{n} jobs: {reason}" for reason, n in ranked[:MAX_REASONS_PER_QUEUE])


def build_report(
    ctx: PoolContext, running: Running, shares: Shares, placements: Placements, duration: float
) -> PoolReport:
    """Stage 5: the pool's report."""
    cycle, db, stats_of, alloc = ctx.cycle, ctx.db, running.ledger.stats, running.ledger.alloc
    space = cycle.space
    zero = ctx.zero
    scheduled = list(zero)
    scheduled_by_queue: dict[str, list[int]] = {}
    scheduled_count: dict[str, int] = {}
    gangs: set[tuple[str, str]] = set()  # (queue, gang id): an undone gang leaves no member
    for new in placements.new.values():
        scheduled_count[new.queue] = scheduled_count.get(new.queue, 0) + 1
        if new.gang_id:
            gangs.add((new.queue, new.gang_id))
        per_queue = scheduled_by_queue.setdefault(new.queue, list(zero))
        for i, v in enumerate(new.info.request):
            scheduled[i] += v
            per_queue[i] += v
    preempted = list(zero)
    for job_id in placements.preempted:
        for i, v in enumerate(cycle.info(running.jobs[job_id]).request):
            preempted[i] += v
    running_pc: dict[str, dict[str, int]] = {}
    for (q, pc), n in running.by_class.items():
        running_pc.setdefault(q, {})[pc] = n
    allocated_pc: dict[str, dict[str, dict[str, int]]] = {}
    for (q, pc), held in running.ledger.alloc_pc.items():
        if any(held):
            allocated_pc.setdefault(q, {})[pc] = space.as_dict(held)
    queues = []
    for q in shares.active:
        stats = stats_of.get(q, {})
        queues.append(
            QueueRound(
                queue=q,
                weight=shares.weights[q],
                fair_share=shares.fair.get(q, 0.0),
                adjusted_fair_share=shares.adjusted.get(q, 0.0),
                actual_share=shares.actual_start.get(q, 0.0),
                share_after=ctx.cost(alloc.get(q, zero)),
                demand_share=shares.demand.get(q, 0.0),
                cordoned=cycle.queues[q].cordoned,
                queued_jobs=shares.queued_here.get(q, 0),
                running_jobs=stats.get("running", 0),
                scheduled_jobs=scheduled_count.get(q, 0),
                scheduled_resources=space.as_dict(scheduled_by_queue.get(q, zero)),
                preempted_jobs=stats.get("preempted", 0),
                evicted_jobs=stats.get("evicted", 0),
                reasons=_queue_reasons(ctx, q),
                running_by_priority_class=running_pc.get(q, {}),
                allocated_by_priority_class=allocated_pc.get(q, {}),
            )
        )
    return PoolReport(
        pool=ctx.pool,
        cycle=cycle.number,
        started=cycle.now,
        duration=duration,
        termination_reason=placements.stop_reason or "all queues exhausted",
        nodes=len(db.nodes),
        schedulable_nodes=int(db.schedulable.sum()),
        capacity=space.as_dict(ctx.total),
        offered=db.offered(),
        scheduled_jobs=len(placements.new),
        scheduled_gangs=len(gangs),
        scheduled_resources=space.as_dict(scheduled),
        preempted_jobs=len(placements.preempted),
        preempted_resources=space.as_dict(preempted),
        queues=tuple(queues),
    )

"""Stage 2 of a pool round: each active queue's demand and fair share in the pool.

A queue is active in a pool when it has running jobs there, or queued jobs that may run there
and were not leased in a pool scheduled earlier this round.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import add

from armada.scheduling.fairness import demand_capped_shares, fair_shares
from armada.scheduling.pool_state import PoolContext, Running


@dataclass(frozen=True, slots=True)
class Shares:
    """The pool's active queues and their shares (fractions of the pool, by DRF cost)."""

    active: list[str]  # sorted
    weights: dict[str, float]
    demand: dict[str, float]
    fair: dict[str, float]
    adjusted: dict[str, float]  # fair shares capped at demand, the rest shared out
    actual_start: dict[str, float]  # what each queue held when the round started
    queued_here: dict[str, int]  # queued jobs that may run here

    def ratio(self, ctx: PoolContext, queue: str, alloc: dict[str, list[int]]) -> float:
        """What the queue holds now over its share protected from fair-share preemption."""
        share = max(self.fair.get(queue, 0.0), self.adjusted.get(queue, 0.0))
        actual = ctx.cost(alloc.get(queue, ctx.zero))
        return actual / share if share > 0 else float("inf") if actual > 0 else 0.0


def compute_shares(ctx: PoolContext, running: Running) -> Shares:
    """Fair shares among the queues active *in this pool*."""
    cycle, pool, zero = ctx.cycle, ctx.pool, ctx.zero
    snap = cycle.snap
    alloc = running.ledger.alloc
    leased = _leased_earlier(ctx)
    demand_vectors = {q: list(held) for q, held in alloc.items()}
    queued_here: dict[str, int] = {}
    for q in snap.queues_with_queued_jobs():
        if q not in cycle.queues:
            continue
        count, want = leased.get(q, (0, zero))
        count = -count  # start from what earlier pools took, then add the groups
        want = [-v for v in want]
        for group_id, group in snap.queued_groups(q).items():
            shared = snap.groups[group_id]
            if not shared.admits(pool):
                continue
            n = len(group)
            request = cycle.info_of_key(shared.key).request
            want = [a + n * b for a, b in zip(want, request, strict=True)]
            count += n
        if count > 0:
            queued_here[q] = count
            held = demand_vectors.get(q)
            demand_vectors[q] = want if held is None else list(map(add, held, want))
    active = sorted(demand_vectors)
    weights = {q: cycle.queues[q].weight for q in active}
    demand = {q: ctx.cost(want) for q, want in demand_vectors.items()}
    return Shares(
        active=active,
        weights=weights,
        demand=demand,
        fair=fair_shares(weights),
        adjusted=demand_capped_shares(weights, demand),
        actual_start={q: ctx.cost(alloc.get(q, zero)) for q in active},
        queued_here=queued_here,
    )


def _leased_earlier(ctx: PoolContext) -> dict[str, tuple[int, list[int]]]:
    """queue -> (count, total request) of its queued jobs that may run in this pool but
    were leased in a pool scheduled earlier this round (``Cycle.taken``, read before this
    pool adds its own leases; every job in it is queued in the snapshot)."""
    cycle, pool = ctx.cycle, ctx.pool
    snap, info = cycle.snap, cycle.info
    counts: dict[tuple[str, int], int] = {}
    for job_id in cycle.taken:
        job = snap[job_id]
        if not job.validated_pools or pool in job.validated_pools:
            where = (job.spec.queue, info(job).key.id)
            counts[where] = counts.get(where, 0) + 1
    leased: dict[str, tuple[int, list[int]]] = {}
    for (queue, key_id), n in counts.items():
        count, total = leased.get(queue, (0, ctx.zero))
        request = cycle.infos[key_id].request
        leased[queue] = (count + n, [a + n * b for a, b in zip(total, request, strict=True)])
    return leased

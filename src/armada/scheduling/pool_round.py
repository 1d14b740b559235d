"""One pool's round: a pipeline of stages, each taking the values the ones before it made.

1. :func:`~armada.scheduling.pool_state.bind_running` -> :class:`Running`: bind every running
   job of the pool to its node, and count what each queue holds.
2. :func:`~armada.scheduling.shares.compute_shares` -> :class:`Shares`: each active queue's
   fair share.
3. :func:`~armada.scheduling.evictions.evict` -> :class:`Evicted`: evict the preemptible jobs of
   queues holding more than ``protectedFractionOfFairShare`` of their fair share (they keep a
   claim on their node and may come back).
4. :class:`Filling` -> :class:`Placements`: progressive filling. Repeatedly take the queue whose
   next item (job or gang) is of the highest priority class and, among those, whose cost
   after that item is the smallest multiple of its weight (Armada's order), and try that
   item: evicted jobs only on their own node, new jobs anywhere they match (best fit; else
   in the place of the evicted jobs that would come back last, as Armada's fair-share
   preemption; else urgency-preempting lower priority classes). Limits (rate, resources per
   round, per queue and class, lookback, time) stop a queue or the round, always with a
   reason. Evicted jobs that did not come back are preempted, gangs as a unit.
5. :func:`~armada.scheduling.pool_report.build_report` -> :class:`PoolReport`.

:func:`run_pool_round` runs them in order; no stage can run before what it takes exists.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from operator import add

from armada.scheduling.admission import Admission, Refusal
from armada.scheduling.candidates import Item, QueueCandidates
from armada.scheduling.cycle import Cycle
from armada.scheduling.displace import Displacer
from armada.scheduling.evictions import Evicted, EvictedOrder, Restorer, evict
from armada.scheduling.lease_undo import LeaseUndo
from armada.scheduling.nodes import Node
from armada.scheduling.placement import GangPlacer
from armada.scheduling.pool_report import build_report
from armada.scheduling.pool_state import (
    FillState,
    NewLease,
    Placements,
    PoolContext,
    Running,
    bind_running,
)
from armada.scheduling.round_data import KeyReason, Lease
from armada.scheduling.shares import Shares, compute_shares

STOP_TIME = "maximum scheduling duration exceeded"


def run_pool_round(cycle: Cycle, pool: str, nodes: Sequence[Node]) -> list[Lease]:
    """Schedule one pool; its report goes to ``cycle.reports``, its leases are returned."""
    ctx = PoolContext.build(cycle, pool, nodes)
    started = cycle.monotonic()
    running = bind_running(ctx)
    shares = compute_shares(ctx, running)
    evicted = evict(ctx, running, shares)
    placements = Filling(ctx, running, shares, evicted).run()
    cycle.reports.append(
        build_report(ctx, running, shares, placements, cycle.monotonic() - started)
    )
    return placements.leases(ctx)


class Filling:
    """Stage 4: refill the pool fairly, then preempt the evicted jobs that did not come back."""

    def __init__(
        self, ctx: PoolContext, running: Running, shares: Shares, evicted: Evicted
    ) -> None:
        self.ctx = ctx
        self.cycle = ctx.cycle
        self.running = running
        self.ledger = running.ledger
        self.alloc = running.ledger.alloc  # never replaced, only updated
        self.shares = shares
        self.evicted = evicted
        self.state = FillState()
        self.undo = LeaseUndo(ctx, running, self.state)
        self.displacer = Displacer(ctx, running, shares, self.state, self.undo)
        self.restorer = Restorer(ctx, running, self.state, self.displacer)
        self.admission = Admission(ctx, running.ledger)
        self.placer = GangPlacer(
            ctx.db,
            ctx.pool,
            ctx.urgency,
            self.displacer.victim_rank,
            EvictedOrder(ctx, running, shares, evicted).find,
        )
        cycle = ctx.cycle
        self.cands = {
            q: QueueCandidates(
                queue=q,
                pool=ctx.pool,
                snap=cycle.snap,
                evicted=evicted.items.get(q, []),
                info_of=cycle.info,
                taken=cycle.taken,
            )
            for q in shares.active
        }

    def run(self) -> Placements:
        cycle, state = self.cycle, self.state
        heap: list[tuple[tuple[int, float], str]] = []
        for q in self.shares.active:
            self._prepare_queue(q)
            self._push(heap, q)
        q = ""
        while heap or q:
            if not q:
                _, q = heapq.heappop(heap)
            cands = self.cands[q]
            item = cands.peek()
            if item is None:
                q = ""
                continue
            if item.evicted:
                self.restorer.restore(item)
                cands.advance()
            elif not state.stop_reason and cycle.monotonic() > cycle.deadline:
                self.stop_round(STOP_TIME)
            else:
                refusal = self.admission.admit(q, cands, item)
                if refusal is None:
                    self._schedule_new(q, cands, item)
                else:
                    self._refused(q, cands, item, refusal)
            q = self._next_queue(heap, q)
        for q, cands in self.cands.items():
            self._close_queue(q, cands)
        for item in self.undo.to_put_back(self.evicted.items, self.shares.weights):
            self.restorer.restore(item)
        self.restorer.preempt_unrestored(self.shares)
        return Placements(
            new=state.new_here, preempted=state.preempted, stop_reason=state.stop_reason
        )

    def _refused(self, queue: str, cands: QueueCandidates, item: Item, refusal: Refusal) -> None:
        if refusal.stops == "item":
            self.reject(queue, cands, item, refusal.reason)
        elif refusal.stops == "queue":
            self.stop_queue(queue, refusal.reason, item)
        else:
            self.stop_round(refusal.reason)

    def _next_queue(self, heap: list[tuple[tuple[int, float], str]], queue: str) -> str:
        """Keep going with ``queue`` while it still has the smallest score, else switch."""
        if self.state.to_rescore:
            self._rescore(heap)
        score = self._score(queue)
        if score is None:
            return ""
        if heap and heap[0] < (score, queue):
            return heapq.heapreplace(heap, (score, queue))[1]
        return queue

    def _score(self, queue: str) -> tuple[int, float] | None:
        """The next item's class priority (negated: highest first) and the queue's cost after
        it over its weight (None: nothing left)."""
        item = self.cands[queue].peek()
        if item is None:
            return None
        alloc = self.alloc.get(queue, self.ctx.zero)
        cost = self.ctx.cost.with_extra(alloc, item.total) / self.shares.weights[queue]
        return (-item.infos[0].key.pc_priority, cost)

    def _push(self, heap: list[tuple[tuple[int, float], str]], queue: str) -> None:
        score = self._score(queue)
        if score is not None:
            heapq.heappush(heap, (score, queue))

    def _rescore(self, heap: list[tuple[tuple[int, float], str]]) -> None:
        """Queues whose allocation changed while they waited get their score recomputed: it
        falls when a job of theirs is preempted by urgency or a lease of theirs is undone, so
        they come up as soon as is fair, and rises again when a victim is put back."""
        to_rescore = self.state.to_rescore
        for i, (old, q) in enumerate(heap):
            if q in to_rescore:
                score = self._score(q)
                heap[i] = (old if score is None else score, q)
        heapq.heapify(heap)
        to_rescore.clear()

    def _prepare_queue(self, queue: str) -> None:
        if self.cycle.queues[queue].cordoned:
            self.stop_queue(queue, "queue cordoned")

    def stop_queue(self, queue: str, reason: str, item: Item | None = None) -> None:
        cands = self.cands[queue]
        if cands.new_stopped:
            return
        if item is not None:
            for job in item.jobs:
                self.cycle.note(job.job_id, self.ctx.pool, reason)
        cands.stop_new()
        for group_id, count in cands.remaining_groups():
            self._key_reason(queue, group_id, reason, count)

    def stop_round(self, reason: str) -> None:
        self.state.stop_reason = reason
        for q in self.shares.active:
            item = self.cands[q].peek()
            self.stop_queue(q, reason, item if item is not None and not item.evicted else None)

    def _key_reason(self, queue: str, group_id: int, reason: str, count: int) -> None:
        key = self.cycle.snap.groups[group_id].key
        self.cycle.key_reasons.append(
            KeyReason(
                pool=self.ctx.pool,
                queue=queue,
                key_id=key.id,
                key=key.describe(),
                reason=reason,
                jobs=count,
            )
        )

    def reject(self, queue: str, cands: QueueCandidates, item: Item, reason: str) -> None:
        """The item stays queued; a plain job's reason covers its whole group."""
        for job in item.jobs:
            self.cycle.note(job.job_id, self.ctx.pool, reason)
        cands.advance()
        if item.group >= 0 and not item.jobs[0].avoid_nodes:
            left = cands.skip_group(item.group)
            if left:
                cands.considered_new += left  # twins set aside were looked at, as in Armada
                self._key_reason(queue, item.group, reason, left)

    # -- placing --------------------------------------------------------------------------
    def _schedule_new(self, queue: str, cands: QueueCandidates, item: Item) -> None:
        outcome = self.placer.place(item)
        if isinstance(outcome, str):
            self.reject(queue, cands, item, outcome)
            return
        cands.advance()
        uniformity_value, placements, victims = outcome
        cycle, ledger, new_here = self.cycle, self.ledger, self.state.new_here
        if len(placements) == 1 and not victims:  # the common case, kept short
            info, node, job_id = item.infos[0], placements[0].node, placements[0].job_id
            new_here[job_id] = NewLease(queue, info, node, "", uniformity_value)
            cycle.taken.add(job_id)
            ledger.add_alloc(queue, info.key.priority_class, info.request, 1)
            ledger.scheduled_round = list(map(add, ledger.scheduled_round, info.request))
            cycle.global_tokens -= 1
            cycle.queue_tokens[queue] -= 1
            return
        gang_id = item.gang.id if item.gang is not None and len(item.jobs) > 1 else ""
        taken = cycle.taken
        for info, placement in zip(item.infos, placements, strict=True):
            job_id = placement.job_id
            new_here[job_id] = NewLease(queue, info, placement.node, gang_id, uniformity_value)
            taken.add(job_id)
            ledger.add_alloc(queue, info.key.priority_class, info.request, 1)
        size = len(placements)
        ledger.scheduled_round = list(map(add, ledger.scheduled_round, item.total))
        cycle.global_tokens -= size
        cycle.queue_tokens[queue] -= size
        on_node = {p.node: i for i, p in enumerate(placements)}
        for victim in victims:  # each preempted by the member placed on its node
            i = on_node[victim.node]
            self.displacer.preempt_victim(victim, item.jobs[i], item.infos[i])
            self.undo.note_victim(item.jobs[i].job_id, victim)

    def _close_queue(self, queue: str, cands: QueueCandidates) -> None:
        cands.note_unfinished_gangs()
        for job_id, reason in cands.notes:
            self.cycle.note(job_id, self.ctx.pool, reason)
        if not cands.new_stopped:
            for group_id, count in cands.remaining_groups():
                self._key_reason(queue, group_id, "not reached this round", count)

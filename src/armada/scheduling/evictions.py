"""Fair-share eviction, putting evicted jobs back, and preempting those that did not come back.

Queues holding more than ``protectedFractionOfFairShare`` of their fair share have their
preemptible jobs evicted at the start of a pool round: taken off their nodes, but with a claim
there. During filling each comes back, in its queue's turn, if its node has room; a job of a
higher priority class may also come back by urgency-preempting lower classes on its node (as
Armada's eviction from over-full nodes does). Whatever is still evicted after filling is
preempted "to restore fair share".

A new job may take the place of evicted jobs (:class:`EvictedOrder`): as in Armada, it takes
the evicted jobs that would come back last, walking back from the end of the order in which
the evicted jobs alone would be put back by fair share, and goes to the node where enough of
them are gathered first. Those jobs, not others on other nodes, are the ones preempted.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from operator import add, ge

import numpy as np
import numpy.typing as npt

from armada.domain.lifecycle import JobRecord
from armada.scheduling.candidates import Item, KeyInfo, make_item
from armada.scheduling.displace import Displacer
from armada.scheduling.nodedb import Choice
from armada.scheduling.pool_state import FillState, PoolContext, Running
from armada.scheduling.resources import Vector
from armada.scheduling.shares import Shares


@dataclass(frozen=True, slots=True)
class Evicted:
    """Stage 3's result: each queue's evicted items, in the order they may come back."""

    items: dict[str, list[Item]]


def evict(ctx: PoolContext, running: Running, shares: Shares) -> Evicted:
    """Stage 3: evict the preemptible jobs of every queue above its protected share."""
    cycle = ctx.cycle
    settings = cycle.settings
    if not settings.enable_fair_share_preemption or (
        ctx.pool_settings.disable_fair_share_preemption
    ):
        return Evicted(items={})
    protected = ctx.pool_settings.protected_fraction_of_fair_share
    if protected is None:
        protected = settings.protected_fraction_of_fair_share
    ledger = running.ledger
    evictable = {q for q in shares.active if shares.ratio(ctx, q, ledger.alloc) > protected}
    counts: dict[tuple[str, int], int] = {}
    chosen: list[str] = []
    by_queue: dict[str, list[tuple[JobRecord, KeyInfo]]] = {}
    placed = ctx.db.placed
    for job_id, job in running.jobs.items():
        queue = job.spec.queue
        if queue not in evictable or job_id not in placed:
            continue
        info = cycle.info(job)
        if not info.preemptible:
            continue
        chosen.append(job_id)
        counts[(queue, info.key.id)] = counts.get((queue, info.key.id), 0) + 1
        by_queue.setdefault(queue, []).append((job, info))
    ctx.db.evict_many(chosen)
    ledger.add_counts(cycle, counts, -1, "evicted")
    return Evicted(items={q: _items(running, held) for q, held in by_queue.items()})


def _items(running: Running, held: list[tuple[JobRecord, KeyInfo]]) -> list[Item]:
    """A queue's evicted jobs (with their keys' infos) as items, in the order they may come
    back: highest class first, then priority, latest started last; gangs as one item."""
    started = running.started

    def order(pair: tuple[JobRecord, KeyInfo]) -> tuple[int, int, float, float, str]:
        job, info = pair
        job_id = job.spec.job_id
        return (-info.key.pc_priority, job.priority, started[job_id], job.submitted_at, job_id)

    groups: list[list[tuple[JobRecord, KeyInfo]]] = []
    gangs: dict[str, list[tuple[JobRecord, KeyInfo]]] = {}
    for pair in sorted(held, key=order):
        gang = pair[0].spec.gang
        if gang is None or gang.cardinality <= 1:
            groups.append([pair])
        elif gang.id in gangs:
            gangs[gang.id].append(pair)
        else:
            gangs[gang.id] = [pair]
            groups.append(gangs[gang.id])
    return [
        make_item([j for j, _ in group], [i for _, i in group], evicted=True, group=-1)
        for group in groups
    ]


class EvictedOrder:
    """The order in which the evicted jobs alone would be put back (queues taking turns by
    cost, from what they hold once evicted; Armada numbers its evicted jobs so), worked out
    the first time a new job needs evicted jobs' room, and the walk over it."""

    def __init__(
        self, ctx: PoolContext, running: Running, shares: Shares, evicted: Evicted
    ) -> None:
        self.ctx = ctx
        self.alloc = dict(running.ledger.alloc)  # as eviction left it, before any filling
        self.weights = shares.weights
        self.evicted = evicted
        self._order: list[str] | None = None
        # id(matching node indices) -> (those indices, node -> matches), for the walk
        self._allowed: dict[int, tuple[npt.NDArray[np.intp], list[bool]]] = {}
        self._sizes: dict[str, list[float]] = {}  # evicted job -> its request as a list

    def find(
        self, idx: npt.NDArray[np.intp], request: Vector, priority: int
    ) -> tuple[int, tuple[str, ...]] | None:
        """The node where a job of ``request`` at ``priority`` takes evicted jobs' place."""
        db = self.ctx.db
        if len(db.evicted) <= len(db.yielded):
            return None  # every evicted job came back or gave way: nothing to walk
        if self._order is None:
            self._order = self._work_out()
        return self._walk(self._order, idx, request, priority)

    def _walk(
        self, order: list[str], idx: npt.NDArray[np.intp], request: Vector, priority: int
    ) -> tuple[int, tuple[str, ...]] | None:
        """Armada's fair-share preemption: walk the evicted jobs (of priority at most
        ``priority``, on nodes of ``idx``) from the end of ``order``, gathering per node what
        they hold plus the node's free room; the first node where ``request`` fits wins."""
        db = self.ctx.db
        evicted, yielded = db.evicted, db.yielded
        while order and ((last := order[-1]) not in evicted or last in yielded):
            order.pop()  # restored, preempted or yielded: never walked again
        allowed = self._allowed.get(id(idx))
        if allowed is None or allowed[0] is not idx:  # matching() caches idx per key
            mask = np.zeros(len(db.nodes), dtype=np.bool_)
            mask[idx] = True
            allowed = self._allowed[id(idx)] = (idx, mask.tolist())
        ok, want, sizes, free = allowed[1], request.tolist(), self._sizes, db.avail[0]
        # Most walks end at their first job (one evicted job's place suffices), so a job's
        # size is kept, for the walks after, only once a walk goes past it.
        gathered: dict[int, tuple[list[float], list[str]]] = {}
        for i in range(len(order) - 1, -1, -1):
            job_id = order[i]
            p = evicted.get(job_id)
            if p is None or p.priority > priority or not ok[p.node] or job_id in yielded:
                continue
            size = sizes.get(job_id)
            if size is None:
                size = p.request.tolist()
            held = gathered.get(p.node)
            if held is None:
                room, ids = list(map(add, free[p.node].tolist(), size)), [job_id]
            else:
                room, ids = list(map(add, held[0], size)), held[1]
                ids.append(job_id)
            if all(map(ge, room, want)):
                return p.node, tuple(ids)
            sizes[job_id] = size
            gathered[p.node] = (room, ids)
        return None

    def _work_out(self) -> list[str]:
        items = {q: its for q, its in self.evicted.items.items() if its}
        if len(items) == 1:
            return [job.job_id for item in next(iter(items.values())) for job in item.jobs]
        cost, zero = self.ctx.cost, self.ctx.zero
        alloc = {q: self.alloc.get(q, zero) for q in items}
        heads = dict.fromkeys(items, 0)

        def score(q: str) -> tuple[int, float]:
            item = items[q][heads[q]]
            return (
                -item.infos[0].key.pc_priority,
                cost.with_extra(alloc[q], item.total) / self.weights[q],
            )

        heap = [(score(q), q) for q in items]
        heapq.heapify(heap)
        order: list[str] = []
        while heap:
            _, q = heapq.heappop(heap)
            item = items[q][heads[q]]
            order.extend(job.job_id for job in item.jobs)
            alloc[q] = [a + b for a, b in zip(alloc[q], item.total, strict=True)]
            heads[q] += 1
            if heads[q] < len(items[q]):
                heapq.heappush(heap, (score(q), q))
        return order


class Restorer:
    """Puts evicted jobs back during filling, and preempts those still out after it."""

    def __init__(
        self, ctx: PoolContext, running: Running, state: FillState, displacer: Displacer
    ) -> None:
        self.ctx = ctx
        self.running = running
        self.state = state
        self.displacer = displacer
        # Only a job above the lowest priority level can have lower classes to preempt.
        self.lowest = ctx.db.levels[0] if ctx.db.levels else 0

    def restore(self, item: Item) -> None:
        """Put an evicted item back on its node(s) if there is room (a gang only whole)."""
        db, ledger = self.ctx.db, self.running.ledger
        doomed, yielded = self.state.doomed, db.yielded
        if (doomed or yielded) and any(
            (i := j.job_id) in doomed or i in yielded for j in item.jobs
        ):
            return  # a gang member was preempted, or a new job took its place
        if len(item.jobs) == 1:
            job, info = item.jobs[0], item.infos[0]
            if db.restore(job.job_id) or (
                info.key.pc_priority > self.lowest and self._restore_over_lower(job, info)
            ):
                ledger.add_alloc(job.spec.queue, info.key.priority_class, info.request, 1)
            return
        restored: list[JobRecord] = []
        for job in item.jobs:
            if not db.restore(job.job_id):
                for back in restored:
                    db.unrestore(back.job_id)
                return
            restored.append(job)
        for job, info in zip(item.jobs, item.infos, strict=True):
            ledger.add_alloc(job.spec.queue, info.key.priority_class, info.request, 1)

    def _restore_over_lower(self, job: JobRecord, info: KeyInfo) -> bool:
        """Put an evicted job back on its node by urgency-preempting jobs of lower priority
        classes bound there (as Armada does when it evicts from over-full nodes lowest priority
        first), so that whatever order fair-share filling took, urgency takes the lowest classes
        first: no lower-class job keeps a node that a higher-class evicted job needed."""
        if not self.ctx.urgency or not info.preemptible:
            return False
        db = self.ctx.db
        row = db.level_of(info.key.pc_priority)
        placement = db.evicted[job.job_id]
        if row < 2 or not bool((db.avail[row, placement.node] >= info.vector).all()):
            return False
        displacer = self.displacer
        victims = db.victims(Choice(placement.node, row), info.vector, displacer.victim_rank)
        for victim in victims:
            db.unbind(victim.job_id)
        back = db.restore(job.job_id)
        assert back, "an evicted job fits once the lower classes on its node are gone"
        for victim in victims:
            displacer.preempt_victim(victim, job, info)
        return True

    def preempt_unrestored(self, shares: Shares) -> None:
        """Preempt every job still evicted after filling, with the fair-share reason."""
        pool, db, jobs = self.ctx.pool, self.ctx.db, self.running.jobs
        openings: dict[str, str] = {}  # queue -> the start of its jobs' reason
        for job_id in sorted(db.evicted):
            queue = jobs[job_id].spec.queue
            opening = openings.get(queue)
            if opening is None:
                fair = max(shares.fair.get(queue, 0.0), shares.adjusted.get(queue, 0.0))
                opening = openings[queue] = (
                    f"preempted to restore fair share in pool {pool}: queue {queue} held "
                    f"{shares.actual_start.get(queue, 0.0):.1%} of the pool against a fair "
                    f"share of {fair:.1%}, and "
                )
            taker = db.yielded.get(job_id, "")
            why = (
                f"job {taker} took its place on its node"
                if taker
                else "its node had no room for the job again"
            )
            self.displacer.drop(job_id, opening + why, "fair-share", taker)

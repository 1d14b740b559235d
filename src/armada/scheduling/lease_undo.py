"""Putting back what an undone lease displaced, so that no job is preempted off an idle node.

A lease made earlier in a pool round can be undone later in the same round (a job of a
higher priority class takes its node, or a gang member's node, and the whole gang goes). What
that lease displaced must not stay displaced for nothing:

* the running jobs it urgency-preempted get their nodes back (a gang only whole) if the nodes
  have room for them again; their queue's allocation rises again and it is rescored;
* evicted jobs that found their node taken by it are put back there at the end of filling,
  if the node has room again, queues in fair order, rather than preempted.

This module keeps the record it needs (who urgency-preempted whom, which nodes saw an undone
lease) and does the putting back, apart from the round's main loop: besides a note per urgency
preemption, nothing here runs unless a lease is undone, so the hot path does not pay for it.
"""

from __future__ import annotations

from collections.abc import Iterator

from armada.scheduling.candidates import Item
from armada.scheduling.nodedb import Placement
from armada.scheduling.pool_state import FillState, PoolContext, Running
from armada.scheduling.resources import Vector


class LeaseUndo:
    def __init__(self, ctx: PoolContext, running: Running, state: FillState) -> None:
        self.ctx = ctx
        self.running = running
        self.state = state
        self.undone_on: set[int] = set()  # nodes where a lease of this round was undone
        self.victims_of: dict[str, list[Placement]] = {}  # new lease -> its urgency victims
        self.lost: dict[str, Placement] = {}  # running jobs preempted off their node

    def note_victim(self, preemptor_id: str, victim: Placement) -> None:
        self.victims_of.setdefault(preemptor_id, []).append(victim)

    def note_lost(self, placement: Placement) -> None:
        """A job was unbound from its node to be preempted (a lease of this round is not)."""
        if placement.job_id in self.running.jobs:
            self.lost[placement.job_id] = placement

    def lease_undone(self, job_id: str, node: int) -> None:
        """The new lease ``job_id`` on ``node`` was undone: put its victims back if they fit."""
        self.undone_on.add(node)
        self.ctx.db.give_back_claims(job_id)  # evicted jobs it took the place of may come back
        for victim in self.victims_of.pop(job_id, ()):
            self._reinstate(victim.job_id)

    def _reinstate(self, victim_id: str) -> None:
        """Undo the urgency preemption of a running job (and of its gang, which went with it)
        whose preemptor's lease was undone in turn, if their nodes have room for them again."""
        running, preempted = self.running.jobs, self.state.preempted
        cycle, db, ledger = self.ctx.cycle, self.ctx.db, self.running.ledger
        job = running.get(victim_id)
        if job is None or victim_id not in preempted:
            return  # a lease of this round (undone already), or reinstated with its gang
        gang = job.spec.gang
        ids = [victim_id]
        if gang is not None and gang.cardinality > 1:
            ids = sorted(m for m in cycle.snap.gang(job.spec.queue, gang.id) if m in running)
        lost = [self.lost[i] for i in ids if i in self.lost and i in preempted]
        if len(lost) < len(ids):
            return  # a member was evicted, not preempted off its node: it cannot come back
        need: dict[int, Vector] = {}
        for p in lost:
            need[p.node] = need[p.node] + p.request if p.node in need else p.request
        if not all(bool((db.avail[0, node] >= v).all()) for node, v in need.items()):
            return
        for p in lost:
            db.bind(p.job_id, p.queue, p.node, p.request, p.priority)
            preempted.discard(p.job_id)
            del self.lost[p.job_id]
            info = cycle.info(running[p.job_id])
            ledger.add_alloc(p.queue, info.key.priority_class, info.request, 1)
            self.state.to_rescore.add(p.queue)
            ledger.stat(p.queue, "preempted", -1)
        back = set(ids)
        cycle.preemptions[:] = [x for x in cycle.preemptions if x.job_id not in back]

    def to_put_back(
        self, evicted_items: dict[str, list[Item]], weights: dict[str, float]
    ) -> Iterator[Item]:
        """Evicted items that found their node taken by a lease of this round, which urgency
        preemption then undid: they should get their place back rather than be preempted off a
        node that now has room for them. Queues in fair order (lowest score first), then queue
        order; each item is looked at when the caller asks for the next."""
        undone, evicted = self.undone_on, self.ctx.db.evicted
        if not undone or not evicted:
            return
        alloc, cost = self.running.ledger.alloc, self.ctx.cost
        queues = {evicted_job.queue for evicted_job in evicted.values()}
        for q in sorted(queues, key=lambda q: (cost(alloc[q]) / weights[q], q)):
            for item in evicted_items[q]:
                ids = [job.job_id for job in item.jobs]
                if all(i in evicted for i in ids) and any(evicted[i].node in undone for i in ids):
                    yield item

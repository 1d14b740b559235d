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

from typing import TYPE_CHECKING

from armada.scheduling.nodedb import Placement
from armada.scheduling.resources import Vector

if TYPE_CHECKING:
    from armada.scheduling.pool_round import PoolRound


class LeaseUndo:
    def __init__(self, round_: PoolRound) -> None:
        self.r = round_
        self.undone_on: set[int] = set()  # nodes where a lease of this round was undone
        self.victims_of: dict[str, list[Placement]] = {}  # new lease -> its urgency victims
        self.lost: dict[str, Placement] = {}  # running jobs preempted off their node

    def note_victim(self, preemptor_id: str, victim: Placement) -> None:
        self.victims_of.setdefault(preemptor_id, []).append(victim)

    def note_lost(self, placement: Placement) -> None:
        """A job was unbound from its node to be preempted (a lease of this round is not)."""
        if placement.job_id in self.r.running:
            self.lost[placement.job_id] = placement

    def lease_undone(self, job_id: str, node: int) -> None:
        """The new lease ``job_id`` on ``node`` was undone: put its victims back if they fit."""
        self.undone_on.add(node)
        for victim in self.victims_of.pop(job_id, ()):
            self._reinstate(victim.job_id)

    def _reinstate(self, victim_id: str) -> None:
        """Undo the urgency preemption of a running job (and of its gang, which went with it)
        whose preemptor's lease was undone in turn, if their nodes have room for them again."""
        r = self.r
        job = r.running.get(victim_id)
        if job is None or victim_id not in r.preempted:
            return  # a lease of this round (undone already), or reinstated with its gang
        gang = job.spec.gang
        ids = [victim_id]
        if gang is not None and gang.cardinality > 1:
            ids = sorted(m for m in r.c.snap.gang(job.spec.queue, gang.id) if m in r.running)
        lost = [self.lost[i] for i in ids if i in self.lost and i in r.preempted]
        if len(lost) < len(ids):
            return  # a member was evicted, not preempted off its node: it cannot come back
        need: dict[int, Vector] = {}
        for p in lost:
            need[p.node] = need[p.node] + p.request if p.node in need else p.request
        if not all(bool((r.db.avail[0, node] >= v).all()) for node, v in need.items()):
            return
        for p in lost:
            r.db.bind(p.job_id, p.queue, p.node, p.request, p.priority)
            r.preempted.discard(p.job_id)
            del self.lost[p.job_id]
            info = r.c.info(r.running[p.job_id])
            r.add_alloc(p.queue, info.key.priority_class, info.request, 1)
            r.to_rescore.add(p.queue)
            r.stat(p.queue, "preempted", -1)
        back = set(ids)
        r.c.preemptions[:] = [x for x in r.c.preemptions if x.job_id not in back]

    def restore_where_room_came_back(self) -> None:
        """An evicted job that found its node taken by a lease of this round, which urgency
        preemption then undid, gets its place back rather than be preempted off a node that
        now has room for it. Queues in fair order (lowest score first), then queue order."""
        r = self.r
        undone, evicted = self.undone_on, r.db.evicted
        if not undone or not evicted:
            return
        queues = {evicted_job.queue for evicted_job in evicted.values()}
        for q in sorted(queues, key=lambda q: (r.cost(r.alloc[q]) / r.weights[q], q)):
            for item in r.evictions.items[q]:
                ids = [job.job_id for job in item.jobs]
                if all(i in evicted for i in ids) and any(evicted[i].node in undone for i in ids):
                    r.evictions.restore(item)

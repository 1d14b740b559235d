"""Placing a new job or a whole gang on a pool's nodes, all or nothing.

A gang is placed member by member; if one member finds no node, every placement (and every
urgency preemption) made for it is undone. With a node uniformity label the gang is tried on
each value of the label in turn and placed where it disturbs least: fewest jobs preempted,
then least use of evicted jobs' room, then the first value in sort order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from armada.domain.lifecycle import JobRecord
from armada.scheduling.candidates import Item, KeyInfo
from armada.scheduling.nodedb import Choice, EvictedRoom, Mask, Placement, PoolNodeDb

Placed = tuple[str, list[Placement], list[Placement]]  # (uniformity value, placements, victims)
VictimRank = Callable[[Placement], tuple[object, ...]]


class GangPlacer:
    def __init__(
        self,
        db: PoolNodeDb,
        pool: str,
        urgency: bool,
        rank: VictimRank,
        evicted_room: EvictedRoom | None = None,
    ) -> None:
        self.db = db
        self.pool = pool
        self.urgency = urgency  # may lower priority classes be urgency-preempted
        self.rank = rank  # the order in which urgency victims on a node are taken
        self.evicted_room = evicted_room  # where a job takes the place of evicted jobs

    def place(self, item: Item) -> Placed | str:
        """Bind the item's jobs; return (uniformity value, placements, victims) or a reason."""
        if len(item.jobs) == 1 and not item.jobs[0].avoid_nodes:
            return self._single(item)
        gang = item.gang
        label = gang.node_uniformity_label if gang is not None and len(item.jobs) > 1 else ""
        if not label:
            outcome = self._trial(item, None)
            return outcome if isinstance(outcome, str) else ("", outcome[0], outcome[1])
        column = self.db.column(label)
        if not column.values:
            return f"gang {gang.id if gang else ''}: no node in pool {self.pool} has label {label}"
        best: tuple[int, int, str] | None = None
        last_reason = ""
        for value in sorted(column.values):
            restrict = column.codes == column.vocab[value]
            outcome = self._trial(item, restrict)
            if isinstance(outcome, str):
                last_reason = outcome
                continue
            placements, victims, rows = outcome
            self._rollback(placements, victims)
            score = (len(victims), rows, value)
            if best is None or score < best:
                best = score
        if best is None:
            return f"no value of label {label} has room for the whole gang ({last_reason})"
        value = best[2]
        outcome = self._trial(item, column.codes == column.vocab[value])
        assert not isinstance(outcome, str), "a gang that fitted in trial must fit again"
        return (value, outcome[0], outcome[1])

    def _single(self, item: Item) -> Placed | str:
        job, info = item.jobs[0], item.infos[0]
        db = self.db
        choice = self._choose(info, None)
        if choice is None:
            return self._explain(item, 0, info, None)
        victims: list[Placement] = []
        if choice.row >= 2:
            victims = db.victims(choice, info.vector, self.rank)
            for victim in victims:
                db.unbind(victim.job_id)
        elif choice.yielding:
            db.take_claims(job.job_id, choice, info.vector)
        placed = db.bind(job.job_id, job.spec.queue, choice.node, info.vector, info.bind_priority)
        return ("", [placed], victims)

    def _choose(self, info: KeyInfo, restrict: Mask | None) -> Choice | None:
        return self.db.select(
            info.key,
            info.vector,
            info.key.pc_priority,
            restrict=restrict,
            urgency=self.urgency,
            evicted_room=self.evicted_room,
        )

    def _avoid_mask(self, job: JobRecord) -> Mask | None:
        if not job.avoid_nodes:
            return None
        avoid = set(job.avoid_nodes)
        return np.array([n.name not in avoid for n in self.db.nodes], dtype=np.bool_)

    def _mask(self, item: Item, index: int, restrict: Mask | None) -> Mask | None:
        avoid = self._avoid_mask(item.jobs[index])
        if avoid is None:
            return restrict
        return avoid if restrict is None else avoid & restrict

    def _trial(
        self, item: Item, restrict: Mask | None
    ) -> tuple[list[Placement], list[Placement], int] | str:
        db = self.db
        placements: list[Placement] = []
        victims: list[Placement] = []
        rows = 0
        for i, (job, info) in enumerate(zip(item.jobs, item.infos, strict=True)):
            mask = self._mask(item, i, restrict)
            choice = self._choose(info, mask)
            if choice is None:
                self._rollback(placements, victims)
                return self._explain(item, i, info, mask)
            if choice.row >= 2:
                for victim in db.victims(choice, info.vector, self.rank):
                    db.unbind(victim.job_id)
                    victims.append(victim)
            elif choice.yielding:
                db.take_claims(job.job_id, choice, info.vector)
            placements.append(
                db.bind(job.job_id, job.spec.queue, choice.node, info.vector, info.bind_priority)
            )
            rows += choice.row
        return placements, victims, rows

    def _rollback(self, placements: list[Placement], victims: list[Placement]) -> None:
        db = self.db
        for p in reversed(placements):
            db.unbind(p.job_id)
            db.give_back_claims(p.job_id)
        for v in reversed(victims):
            db.bind(v.job_id, v.queue, v.node, v.request, v.priority)

    def _explain(self, item: Item, index: int, info: KeyInfo, mask: Mask | None) -> str:
        db = self.db
        job = item.jobs[index]
        if mask is not None and not bool(mask[db.matching(info.key)].any()):
            reason = "no matching node is left once its excluded nodes are removed"
        else:
            reason = db.explain_no_fit(info.key, info.vector, info.key.pc_priority)
        if job.avoid_nodes:
            reason += f" (it must avoid nodes {', '.join(job.avoid_nodes)})"
        if len(item.jobs) > 1 and item.gang is not None:
            return f"gang {item.gang.id} does not fit: member {job.job_id}: {reason}"
        return reason

"""Fair-share eviction, putting evicted jobs back, and preempting those that did not come back.

Queues holding more than ``protectedFractionOfFairShare`` of their fair share have their
preemptible jobs evicted at the start of a pool round: taken off their nodes, but with a claim
there. During filling each comes back, in its queue's turn, if its node has room; a job of a
higher priority class may also come back by urgency-preempting lower classes on its node (as
Armada's eviction from over-full nodes does). Whatever is still evicted after filling is
preempted "to restore fair share".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from armada.domain.lifecycle import JobRecord
from armada.scheduling.candidates import Item, KeyInfo, make_item
from armada.scheduling.nodedb import Choice

if TYPE_CHECKING:
    from armada.scheduling.pool_round import PoolRound


class Evictions:
    def __init__(self, round_: PoolRound) -> None:
        self.r = round_
        self.by_queue: dict[str, list[JobRecord]] = {}
        self.items: dict[str, list[Item]] = {}  # queue -> its evicted items, in queue order
        # Only a job above the lowest priority level can have lower classes to preempt.
        self.lowest = round_.db.levels[0] if round_.db.levels else 0

    def evict(self) -> None:
        """Evict the preemptible jobs of every queue above its protected share."""
        r = self.r
        settings = r.c.settings
        if not settings.enable_fair_share_preemption or (
            r.pool_settings.disable_fair_share_preemption
        ):
            return
        protected = r.pool_settings.protected_fraction_of_fair_share
        if protected is None:
            protected = settings.protected_fraction_of_fair_share
        evictable = {q for q in r.active if r.share_ratio(q) > protected}
        counts: dict[tuple[str, int], int] = {}
        chosen: list[str] = []
        placed = r.db.placed
        for job_id, job in r.running.items():
            queue = job.spec.queue
            if queue not in evictable or job_id not in placed:
                continue
            info = r.c.info(job)
            if not info.preemptible:
                continue
            chosen.append(job_id)
            counts[(queue, info.key.id)] = counts.get((queue, info.key.id), 0) + 1
            self.by_queue.setdefault(queue, []).append(job)
        r.db.evict_many(chosen)
        r.add_counts(counts, -1, "evicted")
        self.items = {q: self._items(q) for q in self.by_queue}

    def _items(self, queue: str) -> list[Item]:
        info, started = self.r.c.info, self.r.started

        def order(job: JobRecord) -> tuple[int, int, float, float, str]:
            job_id = job.spec.job_id
            pc = info(job).key.pc_priority
            return (-pc, job.priority, started[job_id], job.submitted_at, job_id)

        groups: list[list[JobRecord]] = []
        gangs: dict[str, list[JobRecord]] = {}
        for job in sorted(self.by_queue.get(queue, ()), key=order):
            gang = job.spec.gang
            if gang is None or gang.cardinality <= 1:
                groups.append([job])
            elif gang.id in gangs:
                gangs[gang.id].append(job)
            else:
                gangs[gang.id] = [job]
                groups.append(gangs[gang.id])
        return [make_item(jobs, [info(j) for j in jobs], evicted=True, group=-1) for jobs in groups]

    def restore(self, item: Item) -> None:
        """Put an evicted item back on its node(s) if there is room (a gang only whole)."""
        r = self.r
        if any(j.job_id in r.doomed for j in item.jobs):
            return
        if len(item.jobs) == 1:
            job, info = item.jobs[0], item.infos[0]
            if r.db.restore(job.job_id) or (
                info.key.pc_priority > self.lowest and self._restore_over_lower(job, info)
            ):
                r.add_alloc(job.spec.queue, info.key.priority_class, info.request, 1)
            return
        restored: list[JobRecord] = []
        for job in item.jobs:
            if not r.db.restore(job.job_id):
                for back in restored:
                    r.db.unrestore(back.job_id)
                return
            restored.append(job)
        for job, info in zip(item.jobs, item.infos, strict=True):
            r.add_alloc(job.spec.queue, info.key.priority_class, info.request, 1)

    def _restore_over_lower(self, job: JobRecord, info: KeyInfo) -> bool:
        """Put an evicted job back on its node by urgency-preempting jobs of lower priority
        classes bound there (as Armada does when it evicts from over-full nodes lowest priority
        first), so that whatever order fair-share filling took, urgency takes the lowest classes
        first: no lower-class job keeps a node that a higher-class evicted job needed."""
        r = self.r
        if not r.urgency or not info.preemptible:
            return False
        db = r.db
        row = db.level_of(info.key.pc_priority)
        placement = db.evicted[job.job_id]
        if row < 2 or not bool((db.avail[row, placement.node] >= info.vector).all()):
            return False
        victims = db.victims(Choice(placement.node, row), info.vector, r.victim_rank)
        for victim in victims:
            db.unbind(victim.job_id)
        back = db.restore(job.job_id)
        assert back, "an evicted job fits once the lower classes on its node are gone"
        for victim in victims:
            r.preempt_victim(victim, job, info)
        return True

    def preempt_unrestored(self) -> None:
        """Preempt every job still evicted after filling, with the fair-share reason."""
        r = self.r
        for job_id in sorted(r.db.evicted):
            job = r.running[job_id]
            queue = job.spec.queue
            fair = max(r.fair.get(queue, 0.0), r.adjusted.get(queue, 0.0))
            reason = (
                f"preempted to restore fair share in pool {r.pool}: queue {queue} held "
                f"{r.actual_start.get(queue, 0.0):.1%} of the pool against a fair share of "
                f"{fair:.1%}, and its node had no room for the job again"
            )
            r.drop(job_id, reason, "fair-share")

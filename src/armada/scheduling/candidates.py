"""What a queue offers next in a round: its evicted jobs, then its queued jobs, in order.

Queued jobs come from the job database's per-key groups, merged into scheduling order
(priority-class priority, job priority, submit time, id). Because the groups are kept apart,
a key that cannot fit (or hits a limit) is dropped from the merge in one step, and its
remaining jobs get one shared reason instead of being visited one by one: a queue of a million
identical jobs costs as much as its head. Gang members are gathered into one item when the
last of them comes up; a gang with members still missing waits, with a reason.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from armada.domain.jobs import Gang
from armada.domain.lifecycle import JobRecord
from armada.domain.states import JobState
from armada.scheduling.jobdb_snapshot import JobDbSnapshot, QueuedEntry
from armada.scheduling.keys import SchedulingKey
from armada.scheduling.resources import Vector


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A scheduling key compiled for this round's resource space."""

    key: SchedulingKey
    vector: Vector
    request: tuple[int, ...]
    unknown: tuple[str, ...]
    preemptible: bool
    # The priority its jobs hold a node at: their class's, or, for a class that is not
    # preemptible, above every level, so that no urgency preemption can take them.
    bind_priority: int


@dataclass(slots=True)
class Item:
    """One unit of scheduling: a single job, or a whole gang."""

    jobs: list[JobRecord]
    infos: list[KeyInfo]
    total: list[int]
    evicted: bool
    gang: Gang | None
    group: int  # id of the queued group it came from; -1 for gangs and evicted jobs


def make_item(jobs: list[JobRecord], infos: list[KeyInfo], *, evicted: bool, group: int) -> Item:
    total = list(infos[0].request)
    for info in infos[1:]:
        total = [a + b for a, b in zip(total, info.request, strict=True)]
    return Item(jobs, infos, total, evicted, jobs[0].spec.gang, group)


class QueueCandidates:
    """One queue's items for one pool; ``notes`` collects per-job reasons met on the way."""

    def __init__(
        self,
        *,
        queue: str,
        pool: str,
        snap: JobDbSnapshot,
        evicted: list[Item],
        info_of: Callable[[JobRecord], KeyInfo],
        taken: set[str],
    ) -> None:
        self.queue = queue
        self.pool = pool
        self._snap = snap
        self._evicted = evicted
        self._next_evicted = 0
        self._info_of = info_of
        self._taken = taken
        self._gangs_done: set[str] = set()
        self._gangs_pending: dict[str, tuple[set[str], Item]] = {}
        self._iters: dict[int, Iterator[QueuedEntry]] = {}
        self._heap: list[tuple[tuple[int, int, float, str], int]] = []
        self._skipped: set[int] = set()
        self.consumed: dict[int, int] = {}
        self.sizes: dict[int, int] = {}
        self.considered_new = 0
        self.new_stopped = False
        self.notes: list[tuple[str, str]] = []
        self._peeked: Item | None = None
        for group_id, group in snap.queued_groups(queue).items():
            info = snap.groups[group_id]
            if not info.admits(pool):
                continue
            self.sizes[group_id] = len(group)
            self.consumed[group_id] = 0
            self._iters[group_id] = iter(group)
            self._push(group_id)

    def _push(self, group_id: int) -> None:
        entry = next(self._iters[group_id], None)
        if entry is not None:
            pc = self._snap.groups[group_id].key.pc_priority
            heapq.heappush(self._heap, ((-pc, entry[0], entry[1], entry[2]), group_id))

    def peek(self) -> Item | None:
        if self._peeked is None:
            self._peeked = self._find()
        return self._peeked

    def advance(self) -> None:
        """The peeked item was dealt with."""
        item = self._peeked
        self._peeked = None
        if item is not None and not item.evicted:
            self.considered_new += len(item.jobs)

    def skip_group(self, group_id: int) -> int:
        """Drop the rest of a group of twins; returns how many jobs were left in it."""
        self._skipped.add(group_id)
        self._peeked = None
        return self.sizes.get(group_id, 0) - self.consumed.get(group_id, 0)

    def stop_new(self) -> None:
        self.new_stopped = True
        if self._peeked is not None and not self._peeked.evicted:
            self._peeked = None

    def remaining_groups(self) -> list[tuple[int, int]]:
        """(group id, jobs not yet examined) for groups still open."""
        return [
            (k, self.sizes[k] - self.consumed[k])
            for k in sorted(self.sizes)
            if k not in self._skipped and self.sizes[k] > self.consumed[k]
        ]

    def note_unfinished_gangs(self) -> None:
        """Members of gangs whose last member was never reached (set aside with its twins, or
        the queue stopped) get a reason too."""
        for gang_id, (waiting, item) in sorted(self._gangs_pending.items()):
            reason = f"gang {gang_id}: {len(waiting)} of its members were not reached this round"
            seen = [job.job_id for job in item.jobs if job.job_id not in waiting]
            self.notes.extend((job_id, reason) for job_id in seen)
        self._gangs_pending.clear()

    def _find(self) -> Item | None:
        if self._next_evicted < len(self._evicted):
            evicted = self._evicted[self._next_evicted]
            self._next_evicted += 1
            return evicted
        while not self.new_stopped and self._heap:
            order, group_id = heapq.heappop(self._heap)
            if group_id in self._skipped:
                continue
            self.consumed[group_id] += 1
            self._push(group_id)
            found = self._item_for(order[3], group_id)
            if found is not None:
                return found
        return None

    def _eligible(self, job: JobRecord) -> bool:
        return job.job_id not in self._taken and (
            not job.validated_pools or self.pool in job.validated_pools
        )

    def _item_for(self, job_id: str, group_id: int) -> Item | None:
        job = self._snap[job_id]
        if not self._eligible(job):
            return None
        gang = job.spec.gang
        if job.cancel_requested:
            self.notes.append((job_id, "cancellation requested"))
            if gang is not None and gang.cardinality > 1:
                return self._gang_member_seen(job_id, gang)
            return None
        if gang is None or gang.cardinality <= 1:
            info = self._info_of(job)
            return Item([job], [info], list(info.request), False, gang, group_id)
        return self._gang_member_seen(job_id, gang)

    def _gang_member_seen(self, job_id: str, gang: Gang) -> Item | None:
        """A gang is offered when the last of its queued members comes up in queue order (as
        in Armada), so jobs submitted between its members keep their places before it."""
        if gang.id in self._gangs_done:
            return None
        pending = self._gangs_pending.get(gang.id)
        if pending is None:
            item = self._gang_item(gang)
            if item is None:
                self._gangs_done.add(gang.id)
                return None
            pending = ({j.job_id for j in item.jobs}, item)
            self._gangs_pending[gang.id] = pending
        waiting, item = pending
        waiting.discard(job_id)
        if waiting:
            return None
        del self._gangs_pending[gang.id]
        self._gangs_done.add(gang.id)
        return item

    def _gang_item(self, gang: Gang) -> Item | None:
        members = [self._snap[i] for i in sorted(self._snap.gang(self.queue, gang.id))]
        queued = [m for m in members if m.state is JobState.QUEUED and self._eligible(m)]
        problem = ""
        if len(queued) < gang.cardinality:
            problem = (
                f"gang {gang.id}: {len(queued)} of {gang.cardinality} members queued; "
                "waiting for the rest"
            )
        elif len(queued) > gang.cardinality:
            problem = (
                f"gang {gang.id}: {len(queued)} members queued for cardinality {gang.cardinality}"
            )
        else:
            first = queued[0]
            for m in queued[1:]:
                g = m.spec.gang
                if (
                    m.spec.priority_class != first.spec.priority_class
                    or g is None
                    or g.cardinality != gang.cardinality
                    or g.node_uniformity_label != gang.node_uniformity_label
                ):
                    problem = (
                        f"gang {gang.id}: members disagree on priority class, cardinality "
                        "or uniformity label"
                    )
                    break
        if problem:
            self.notes.extend((m.job_id, problem) for m in queued)
            return None
        return make_item(queued, [self._info_of(m) for m in queued], evicted=False, group=-1)

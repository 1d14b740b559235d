"""The job database's stored state, and one frozen version of it (:class:`JobDbSnapshot`).

A version is a :class:`JobDbState`: 256 shards of job records and the indexes kept beside them
(see :mod:`armada.scheduling.jobdb`). Versions share every container they did not change, so
none may be changed in place once published; :class:`JobDbSnapshot` is the read-only face a
scheduling cycle, a report or a duty reads for as long as it likes. Records keep a slim spec
(:func:`slim_spec`): only what the scheduler reads.
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import msgspec
from sortedcontainers import SortedList

from armada.domain.jobs import JobSpec, SchedulingRequirements
from armada.domain.lifecycle import JobRecord
from armada.scheduling.keys import GroupTable, KeyTable, SchedulingKey

SHARDS = 256
_EMPTY: Mapping[str, str] = MappingProxyType({})
NodeRef = tuple[str, str]  # (executor, node name)
GangRef = tuple[str, str]  # (queue, gang id)
QueuedEntry = tuple[int, float, str]  # (job priority, submitted at, job id)


def slim_spec(spec: JobSpec, requirements: SchedulingRequirements) -> JobSpec:
    """The spec as the job database keeps it: without what the scheduler never reads (pod
    spec, labels, annotations), with ``requirements`` (the interned equal of its own), and
    with the strings that a million jobs repeat (queue, job set, namespace, owner) shared."""
    if (
        requirements is spec.requirements
        and not spec.pod_spec
        and not spec.labels
        and not spec.annotations
    ):
        return spec  # already kept (a record taken from a snapshot and changed)
    intern = sys.intern
    return msgspec.structs.replace(
        spec,
        pod_spec=b"",
        labels=_EMPTY,
        annotations=_EMPTY,
        requirements=requirements,
        queue=intern(spec.queue),
        job_set=intern(spec.job_set),
        namespace=intern(spec.namespace),
        owner=intern(spec.owner),
    )


@dataclass(slots=True)
class JobDbState:
    shards: list[dict[str, JobRecord]]
    queued: dict[str, dict[int, SortedList]]
    by_node: dict[NodeRef, set[str]]
    nodes_of: dict[str, set[str]]  # executor -> its nodes that hold active runs
    by_pool: dict[str, set[str]]
    by_queue: dict[str, set[str]]
    gangs: dict[GangRef, set[str]]
    size: int = 0
    version: int = 0

    @staticmethod
    @staticmethod
    def empty() -> JobDbState:
        return JobDbState([{} for _ in range(SHARDS)], {}, {}, {}, {}, {}, {})


@dataclass(frozen=True, slots=True)
class ApplyNote:
    """An event that was skipped: stale (expected in a concurrent system) or invalid."""

    job_id: str
    event: str
    reason: str
    invalid: bool


@dataclass(slots=True)
class ApplyReport:
    applied: int = 0
    notes: list[ApplyNote] = field(default_factory=list)


def shard_of(job_id: str) -> int:
    return hash(job_id) % SHARDS


class JobDbSnapshot:
    """One version of the job database. Immutable: safe to read for as long as you like."""

    def __init__(self, state: JobDbState, keys: KeyTable, groups: GroupTable) -> None:
        self._s = state
        self.keys = keys
        self.groups = groups

    @property
    def version(self) -> int:
        return self._s.version

    def __len__(self) -> int:
        return self._s.size

    def get(self, job_id: str) -> JobRecord | None:
        return self._s.shards[shard_of(job_id)].get(job_id)

    def __getitem__(self, job_id: str) -> JobRecord:
        return self._s.shards[shard_of(job_id)][job_id]

    def jobs(self) -> Iterator[JobRecord]:
        for shard in self._s.shards:
            yield from shard.values()

    def key_of(self, job: JobRecord) -> SchedulingKey:
        return self.keys.of(job.spec.requirements)

    def queues_with_queued_jobs(self) -> list[str]:
        return sorted(q for q, groups in self._s.queued.items() if groups)

    def queued_groups(self, queue: str) -> Mapping[int, SortedList]:
        """Queued jobs of ``queue`` by group id (see ``groups``), each in scheduling order."""
        return self._s.queued.get(queue, {})

    def has_queued(self) -> bool:
        """Whether any job is queued (empty groups and queues are dropped as they empty)."""
        return any(self._s.queued.values())

    def queued(self, queue: str) -> Iterator[JobRecord]:
        """Queued jobs of ``queue`` in scheduling order (class priority, priority, time, id)."""
        heads: list[tuple[tuple[int, int, float, str], Iterator[QueuedEntry]]] = []
        for group_id, group in self.queued_groups(queue).items():
            neg_pc = -self.groups[group_id].key.pc_priority
            it = iter(group)
            first = next(it, None)
            if first is not None:
                heads.append(((neg_pc, first[0], first[1], first[2]), it))
        heapq.heapify(heads)
        while heads:
            order, it = heads[0]
            yield self[order[3]]
            nxt = next(it, None)
            if nxt is None:
                heapq.heappop(heads)
            else:
                heapq.heapreplace(heads, ((order[0], nxt[0], nxt[1], nxt[2]), it))

    def active_on_executor(self, executor: str) -> Iterator[str]:
        """Jobs with an active run on ``executor``, on whichever of its nodes (reported by the
        executor or not). Walks the executor's nodes that hold runs, not a set of its runs: such
        a set would be one large container copied by every transaction that touches it."""
        by_node = self._s.by_node
        for node in self._s.nodes_of.get(executor, ()):
            yield from by_node.get((executor, node), ())

    def active_executors(self) -> list[str]:
        """Executors holding at least one active run."""
        return sorted(self._s.nodes_of)

    def active_in_pool(self, pool: str) -> frozenset[str]:
        return frozenset(self._s.by_pool.get(pool, ()))

    def active_pools(self) -> list[str]:
        return sorted(p for p, ids in self._s.by_pool.items() if ids)

    def active_of_queue(self, queue: str) -> frozenset[str]:
        return frozenset(self._s.by_queue.get(queue, ()))

    def gang(self, queue: str, gang_id: str) -> frozenset[str]:
        """Ids of the non-terminal members of a gang seen so far."""
        return frozenset(self._s.gangs.get((queue, gang_id), ()))


def queued_entry(job: JobRecord) -> QueuedEntry:
    return (job.priority, job.submitted_at, job.job_id)

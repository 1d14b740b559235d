"""The scheduler's in-memory job database: every non-terminal job, with the indexes it needs.

Modelled on Armada's immutable job database. The database is a sequence of versions; a
:class:`JobDbSnapshot` is one version and never changes, so a scheduling cycle reading it sees
one consistent state however long it runs. Changes go through a :class:`WriteTxn` that copies,
on first touch, only the containers it modifies (one of 256 job shards, one queue's index, one
node's set) and publishes a new version atomically on commit; an aborted transaction leaves no
trace. Log events are applied with :func:`armada.domain.lifecycle.apply_event`, exactly as
every other view of the log does; new jobs, a million of them on a restart, take a bulk path
(the lifecycle's ``new_job``, their queued entries added a group at a time) that
``tests/scheduling/test_jobdb_bulk.py`` holds equal to it.

Indexes kept incrementally:

* queued jobs per queue, grouped by scheduling key and validated pools, each group in
  scheduling order (job priority ascending, submit time, job id; the key fixes the priority
  class), so that a round can set aside a whole group of twins in one step;
* active (leased, pending, running) jobs per node, per pool and per queue, and each
  executor's nodes that hold such jobs;
* gang members seen so far, by (queue, gang id).
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import msgspec
from sortedcontainers import SortedList

from armada.domain.events import EventSequence, JobEvent, LogEntry, SubmitJob
from armada.domain.jobs import JobSpec, SchedulingRequirements
from armada.domain.lifecycle import JobRecord, StaleEvent, apply_event, new_job, validate_job
from armada.domain.queues import PriorityClass
from armada.domain.states import InvalidTransition, JobState
from armada.scheduling.grouplist import GroupList
from armada.scheduling.keys import GroupTable, KeyTable, QueuedGroup, SchedulingKey

_SHARDS = 256
_EMPTY: Mapping[str, str] = MappingProxyType({})
NodeRef = tuple[str, str]  # (executor, node name)
GangRef = tuple[str, str]  # (queue, gang id)
QueuedEntry = tuple[int, float, str]  # (job priority, submitted at, job id)
_FreshQueued = dict[tuple[str, int], list[QueuedEntry]]  # (queue, group id) -> new entries


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
class _State:
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
    def empty() -> _State:
        return _State([{} for _ in range(_SHARDS)], {}, {}, {}, {}, {}, {})


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


def _shard(job_id: str) -> int:
    return hash(job_id) % _SHARDS


class JobDbSnapshot:
    """One version of the job database. Immutable: safe to read for as long as you like."""

    def __init__(self, state: _State, keys: KeyTable, groups: GroupTable) -> None:
        self._s = state
        self.keys = keys
        self.groups = groups

    @property
    def version(self) -> int:
        return self._s.version

    def __len__(self) -> int:
        return self._s.size

    def get(self, job_id: str) -> JobRecord | None:
        return self._s.shards[_shard(job_id)].get(job_id)

    def __getitem__(self, job_id: str) -> JobRecord:
        return self._s.shards[_shard(job_id)][job_id]

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


class WriteTxn:
    """Changes staged against one version; :meth:`commit` publishes them as the next version."""

    def __init__(self, db: JobDb, base: _State) -> None:
        self._db = db
        self._keys = db.keys
        self._groups = db.groups
        self._owned: set[int] = set()
        self._s = _State(
            shards=list(base.shards),
            queued=dict(base.queued),
            by_node=dict(base.by_node),
            nodes_of=dict(base.nodes_of),
            by_pool=dict(base.by_pool),
            by_queue=dict(base.by_queue),
            gangs=dict(base.gangs),
            size=base.size,
            version=base.version + 1,
        )
        self._fresh: _FreshQueued = {}
        self.done = False

    # -- copy on write --------------------------------------------------------------------
    def _own(self, container: Any) -> Any:
        if id(container) in self._owned:
            return container
        copy = container.copy()
        self._owned.add(id(copy))
        return copy

    def _shard_for(self, job_id: str) -> dict[str, JobRecord]:
        i = _shard(job_id)
        shard: dict[str, JobRecord] = self._own(self._s.shards[i])
        self._s.shards[i] = shard
        return shard

    def _set_add(self, index: dict[Any, set[str]], key: Any, job_id: str) -> None:
        members = index.get(key)
        members = set() if members is None else self._own(members)
        self._owned.add(id(members))
        members.add(job_id)
        index[key] = members

    def _set_discard(self, index: dict[Any, set[str]], key: Any, job_id: str) -> None:
        members = index.get(key)
        if members is None or job_id not in members:
            return
        members = self._own(members)
        members.discard(job_id)
        if members:
            index[key] = members
        else:
            del index[key]

    def _group(self, queue: str, group_id: int) -> SortedList:
        groups = self._s.queued.get(queue)
        groups = {} if groups is None else self._own(groups)
        self._owned.add(id(groups))
        self._s.queued[queue] = groups
        group = groups.get(group_id)
        group = GroupList() if group is None else self._own(group)
        self._owned.add(id(group))
        groups[group_id] = group
        return group

    def _drop_group_if_empty(self, queue: str, group_id: int) -> None:
        groups = self._s.queued[queue]
        if not groups[group_id]:
            del groups[group_id]
        if not groups:
            del self._s.queued[queue]

    # -- reads ----------------------------------------------------------------------------
    def get(self, job_id: str) -> JobRecord | None:
        return self._s.shards[_shard(job_id)].get(job_id)

    # -- index maintenance ----------------------------------------------------------------
    def _unindex(self, job: JobRecord) -> None:
        spec = job.spec
        if job.state is JobState.QUEUED:
            group_id = self._group_of(job).id
            self._group(spec.queue, group_id).discard(queued_entry(job))
            self._drop_group_if_empty(spec.queue, group_id)
        run = job.active_run
        if run is not None:
            node = (run.executor, run.node)
            self._set_discard(self._s.by_node, node, job.job_id)
            if node not in self._s.by_node:  # its last active run
                self._set_discard(self._s.nodes_of, run.executor, run.node)
            self._set_discard(self._s.by_pool, run.pool, job.job_id)
            self._set_discard(self._s.by_queue, spec.queue, job.job_id)

    def _group_of(self, job: JobRecord) -> QueuedGroup:
        return self._groups.intern(self._keys.of(job.spec.requirements), job.validated_pools)

    def _index(self, job: JobRecord) -> None:
        spec = job.spec
        if job.state is JobState.QUEUED:
            self._group(spec.queue, self._group_of(job).id).add(queued_entry(job))
        run = job.active_run
        if run is not None:
            node = (run.executor, run.node)
            if node not in self._s.by_node:  # its first active run
                self._set_add(self._s.nodes_of, run.executor, run.node)
            self._set_add(self._s.by_node, node, job.job_id)
            self._set_add(self._s.by_pool, run.pool, job.job_id)
            self._set_add(self._s.by_queue, spec.queue, job.job_id)

    # -- writes ---------------------------------------------------------------------------
    def _slim(self, spec: JobSpec) -> JobSpec:
        """``spec`` as kept (see :func:`slim_spec`), its requirements interned."""
        return slim_spec(spec, self._keys.intern(spec.requirements).requirements)

    def _prepare(self, job: JobRecord) -> JobRecord:
        slim = self._slim(job.spec)
        return job if slim is job.spec else msgspec.structs.replace(job, spec=slim)

    def upsert(self, job: JobRecord) -> None:
        """Insert or replace a job; a terminal job is removed instead."""
        self._check_open()
        if self._fresh:
            self._index_fresh()
        if job.state.terminal:
            self.delete(job.job_id)
            return
        old = self.get(job.job_id)
        if old is job:
            return
        if old is None or job.spec is not old.spec:
            job = self._prepare(job)
        shard = self._shard_for(job.job_id)
        if old is not None:
            self._unindex(old)
        else:
            self._s.size += 1
            if job.spec.gang is not None:
                self._set_add(self._s.gangs, (job.spec.queue, job.spec.gang.id), job.job_id)
        shard[job.job_id] = job
        self._index(job)

    def delete(self, job_id: str) -> None:
        self._check_open()
        if self._fresh:
            self._index_fresh()
        old = self.get(job_id)
        if old is None:
            return
        self._unindex(old)
        del self._shard_for(job_id)[job_id]
        self._s.size -= 1
        if old.spec.gang is not None:
            self._set_discard(self._s.gangs, (old.spec.queue, old.spec.gang.id), job_id)

    def apply(self, items: Iterable[LogEntry | EventSequence]) -> ApplyReport:
        """Apply log entries (or bare sequences) in order with the lifecycle's ``apply_event``.

        Stale and invalid events are skipped and noted; jobs that become terminal are dropped.
        Control-plane events are ignored: queues and executors reach the scheduler elsewhere.
        New jobs take a bulk path (see :meth:`_submit_new`); the result is exactly that of
        :meth:`apply_one` for every event in turn.
        """
        self._check_open()
        report = ApplyReport()
        for item in items:
            sequence = item.sequence if isinstance(item, LogEntry) else item
            for event in sequence.events:
                if isinstance(event, SubmitJob):
                    if self._submit_new(event.spec, sequence.created):
                        report.applied += 1
                        continue
                elif getattr(event, "job_id", None) is None:
                    continue
                self.apply_one(event, sequence, report)  # type: ignore[arg-type]
        return report

    def _submit_new(self, spec: JobSpec, at: float) -> bool:
        """Store a job never seen before (False if it was); its queued-index entry waits in
        ``_fresh``, to be added with its twins in one step by :meth:`_index_fresh`.

        The record is the lifecycle's ``new_job``, which is what ``apply_event`` makes of a
        first ``SubmitJob``; the kept spec is made before the record rather than after.
        """
        # Run once per job of a replay: the helpers are inlined (_shard_for, _group_of).
        job_id = spec.job_id
        shard = self._s.shards[_shard(job_id)]
        if id(shard) not in self._owned:
            shard = self._shard_for(job_id)
        if job_id in shard:
            return False  # a second submission: apply_one notes it as stale
        key = self._keys.intern(spec.requirements)
        job = new_job(slim_spec(spec, key.requirements), at)
        shard[job_id] = job
        self._s.size += 1
        spec = job.spec
        if spec.gang is not None:
            self._set_add(self._s.gangs, (spec.queue, spec.gang.id), job_id)
        where = (spec.queue, self._groups.intern(key, job.validated_pools).id)
        entries = self._fresh.get(where)
        if entries is None:
            entries = self._fresh[where] = []
        entries.append((job.priority, at, job_id))  # queued_entry(job), inlined
        return True

    def _index_fresh(self) -> None:
        """Add the waiting entries of new jobs to the queued index, a group at a time. Done
        before anything else changes the index, and on commit."""
        for (queue, group_id), entries in self._fresh.items():
            self._group(queue, group_id).update(entries)
        self._fresh.clear()

    def apply_one(self, event: JobEvent, sequence: EventSequence, report: ApplyReport) -> None:
        """Apply one event of ``sequence`` (no bulk path); note it in ``report``."""
        job_id = event.spec.job_id if isinstance(event, SubmitJob) else event.job_id
        job = self.get(job_id)
        try:
            new = apply_event(job, event, sequence.created, sequence.user)
        except (StaleEvent, InvalidTransition) as exc:
            invalid = isinstance(exc, InvalidTransition)
            report.notes.append(ApplyNote(job_id, type(event).__name__, str(exc), invalid))
            return
        report.applied += 1
        self.upsert(new)

    def _check_open(self) -> None:
        if self.done:
            raise RuntimeError("this job database transaction is already committed or aborted")

    def commit(self) -> JobDbSnapshot:
        self._check_open()
        self._index_fresh()
        self.done = True
        return self._db._publish(self._s)

    def abort(self) -> None:
        self.done = True


class JobDb:
    """Holds the current version; hands out snapshots and write transactions."""

    def __init__(
        self,
        priority_classes: Mapping[str, PriorityClass],
        default_priority_class: str = "armada-default",
    ) -> None:
        priorities = {name: pc.priority for name, pc in priority_classes.items()}
        default = priority_classes.get(default_priority_class)
        self.keys = KeyTable(priorities, default.priority if default else 0)
        self.groups = GroupTable()
        self._state = _State.empty()
        self._writing = False

    def read(self) -> JobDbSnapshot:
        """The current version, frozen."""
        return JobDbSnapshot(self._state, self.keys, self.groups)

    def begin(self) -> WriteTxn:
        if self._writing:
            raise RuntimeError("a write transaction is already open on this job database")
        self._writing = True
        return WriteTxn(self, self._state)

    @contextmanager
    def write(self) -> Iterator[WriteTxn]:
        """``with db.write() as txn:`` commits on success, aborts on an exception."""
        txn = self.begin()
        try:
            yield txn
        except BaseException:
            txn.abort()
            self._writing = False
            raise
        if not txn.done:
            txn.commit()
        self._writing = False

    def _publish(self, state: _State) -> JobDbSnapshot:
        self._state = state
        self._writing = False
        return self.read()

    def apply(self, items: Iterable[LogEntry | EventSequence]) -> ApplyReport:
        """Apply log entries in one transaction (see :meth:`WriteTxn.apply`)."""
        with self.write() as txn:
            return txn.apply(items)

    def validate(self) -> None:
        """Check every invariant of the current version; raise AssertionError if one breaks."""
        validate_snapshot(self.read())


def validate_snapshot(snap: JobDbSnapshot) -> None:
    s = snap._s
    seen_queued: set[str] = set()
    for queue, groups in s.queued.items():
        assert groups, f"queue {queue} has an empty group table"
        for group_id, group in groups.items():
            assert group, f"queue {queue} group {group_id} is empty"
            info = snap.groups[group_id]
            for priority, submitted, job_id in group:
                job = snap.get(job_id)
                assert job is not None, f"queued index names unknown job {job_id}"
                assert job.state is JobState.QUEUED, f"{job_id} indexed queued but is {job.state}"
                assert job.spec.queue == queue, f"{job_id} indexed under the wrong queue"
                assert info.key.requirements is job.spec.requirements, f"{job_id}: wrong key"
                assert info.pools == (frozenset(job.validated_pools) or None), (
                    f"{job_id}: in the group of other pools"
                )
                assert (priority, submitted) == (job.priority, job.submitted_at), (
                    f"{job_id}: stale order entry"
                )
                seen_queued.add(job_id)
    count, active = 0, 0
    for job in snap.jobs():
        count += 1
        validate_job(job)
        assert not job.state.terminal, f"terminal job {job.job_id} kept in the job database"
        assert not job.spec.pod_spec, f"job {job.job_id} keeps its pod spec"
        if job.state is JobState.QUEUED:
            assert job.job_id in seen_queued, f"queued job {job.job_id} missing from its index"
        run = job.active_run
        if run is not None:
            active += 1
            assert job.job_id in s.by_node.get((run.executor, run.node), ()), job.job_id
            assert job.job_id in s.by_pool.get(run.pool, ()), job.job_id
            assert job.job_id in s.by_queue.get(job.spec.queue, ()), job.job_id
        if job.spec.gang is not None:
            assert job.job_id in s.gangs.get((job.spec.queue, job.spec.gang.id), ()), job.job_id
    assert count == s.size, f"size {s.size} but {count} jobs stored"
    assert len(seen_queued) == sum(len(g) for gs in s.queued.values() for g in gs.values())
    nodes_of = {(e, n) for e, nodes in s.nodes_of.items() for n in nodes}
    assert nodes_of == {node for node, ids in s.by_node.items() if ids}, "nodes_of out of step"
    for index in (s.by_node, s.by_pool, s.by_queue):
        assert sum(len(ids) for ids in index.values()) == active, "active index out of step"
    for (queue, gang_id), members in s.gangs.items():
        assert members, f"empty gang entry {queue}/{gang_id}"
        for job_id in members:
            member = snap.get(job_id)
            assert member is not None and member.spec.gang is not None, job_id
            assert member.spec.gang.id == gang_id, f"{job_id} in the wrong gang"

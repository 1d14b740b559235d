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

The code is in three modules: this one (:class:`JobDb`, which holds the current version, and
the invariants), :mod:`~armada.scheduling.jobdb_snapshot` (a version and its read-only face)
and :mod:`~armada.scheduling.jobdb_txn` (write transactions).
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from armada.domain.events import EventSequence, LogEntry
from armada.domain.lifecycle import validate_job
from armada.domain.queues import PriorityClass
from armada.domain.states import JobState
from armada.scheduling.jobdb_snapshot import (
    ApplyNote,
    ApplyReport,
    JobDbSnapshot,
    JobDbState,
    QueuedEntry,
)
from armada.scheduling.jobdb_txn import WriteTxn
from armada.scheduling.keys import GroupTable, KeyTable

__all__ = [
    "ApplyNote",
    "ApplyReport",
    "JobDb",
    "JobDbSnapshot",
    "QueuedEntry",
    "WriteTxn",
    "validate_snapshot",
]


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
        self._state = JobDbState.empty()
        self._writing = False
        self._current: weakref.ref[JobDbSnapshot] | None = None  # the last handed out
        # Snapshots handed out and still referenced somewhere: the oldest bounds which unused
        # scheduling keys may be forgotten. The lock orders a reader's registration against
        # a commit's reclamation (readers may be on other threads).
        self._live: weakref.WeakSet[JobDbSnapshot] = weakref.WeakSet()
        self._lock = threading.Lock()
        self.keys_reclaimed = 0  # unused scheduling keys forgotten so far

    def read(self) -> JobDbSnapshot:
        """The current version, frozen (one object per version)."""
        with self._lock:
            snap = None if self._current is None else self._current()
            if snap is None or snap._s is not self._state:
                snap = JobDbSnapshot(self._state, self.keys, self.groups)
                self._current = weakref.ref(snap)
                self._live.add(snap)
            return snap

    def begin(self) -> WriteTxn:
        if self._writing:
            raise RuntimeError("a write transaction is already open on this job database")
        self._writing = True
        return WriteTxn(self._state, self.keys, self.groups, self._finish)

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

    def _finish(self, state: JobDbState | None, key_uses: dict[int, int]) -> JobDbSnapshot | None:
        """End the open transaction: publish ``state`` (None: it was aborted), count the jobs
        using each scheduling key, and forget the keys no live snapshot can hold any more."""
        self._writing = False
        version = self._state.version + 1
        self.keys.settle(key_uses, version)
        with self._lock:
            if state is not None:
                self._state = state
            oldest = min((s.version for s in self._live), default=self._state.version)
            self.keys_reclaimed += self.keys.reclaim(min(oldest, self._state.version), self.groups)
        return None if state is None else self.read()

    def apply(self, items: Iterable[LogEntry | EventSequence]) -> ApplyReport:
        """Apply log entries in one transaction (see :meth:`WriteTxn.apply`)."""
        with self.write() as txn:
            return txn.apply(items)

    def validate(self) -> None:
        """Check every invariant of the current version; raise AssertionError if one breaks."""
        snap = self.read()
        validate_snapshot(snap)
        uses = Counter(snap.key_of(job).id for job in snap.jobs())
        assert dict(uses) == self.keys.use_counts(), "scheduling keys' use counts out of step"


def validate_snapshot(snap: JobDbSnapshot) -> None:
    s = snap._s
    seen_queued: set[str] = set()
    for queue, groups in s.queued.items():
        assert groups, f"queue {queue} has an empty group table"
        for group_id, group in groups.items():
            assert group, f"queue {queue} group {group_id} is empty"
            assert group_id in snap.groups, f"queue {queue}: group {group_id} was forgotten"
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
        key = snap.keys.lookup(job.spec.requirements)
        assert key is not None, f"job {job.job_id}: its scheduling key was forgotten"
        assert key.id in snap.keys and snap.keys[key.id] is key, f"{job.job_id}: key by id"
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

"""Write transactions on the job database: changes staged against one version, then published.

A :class:`WriteTxn` copies, on first touch, only the containers it modifies (one of 256 job
shards, one queue's index, one node's set), so a published version is never changed and a
transaction costs what it touches, not the size of the database. Log events are applied with
the lifecycle's ``apply_event``, as every other view of the log does; new jobs take a bulk path
(their queued entries added a group at a time) that ``tests/scheduling/test_jobdb_bulk.py``
holds equal to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from sortedcontainers import SortedList

from armada.domain.events import EventSequence, JobEvent, LogEntry, SubmitJob
from armada.domain.jobs import JobSpec
from armada.domain.lifecycle import JobRecord, StaleEvent, apply_event, new_job
from armada.domain.states import InvalidTransition, JobState
from armada.scheduling.grouplist import GroupList
from armada.scheduling.jobdb_snapshot import (
    ApplyNote,
    ApplyReport,
    JobDbSnapshot,
    JobDbState,
    QueuedEntry,
    queued_entry,
    shard_of,
    slim_spec,
)
from armada.scheduling.keys import GroupTable, KeyTable, QueuedGroup

_FreshQueued = dict[tuple[str, int], list[QueuedEntry]]  # (queue, group id) -> new entries
# Ends a transaction: the new version (None: aborted) and, per scheduling key id, how many
# jobs started (or stopped) using it; returns the published version.
Finish = Callable[[JobDbState | None, dict[int, int]], JobDbSnapshot | None]


class WriteTxn:
    """Changes staged against one version; :meth:`commit` publishes them as the next version."""

    def __init__(
        self, base: JobDbState, keys: KeyTable, groups: GroupTable, finish: Finish
    ) -> None:
        self._finish = finish
        self._keys = keys
        self._groups = groups
        self._owned: set[int] = set()
        self._s = JobDbState(
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
        self._key_uses: dict[int, int] = {}  # key id -> jobs gained (lost) by this transaction
        self.done = False

    # -- copy on write --------------------------------------------------------------------
    def _own(self, container: Any) -> Any:
        if id(container) in self._owned:
            return container
        copy = container.copy()
        self._owned.add(id(copy))
        return copy

    def _shard_for(self, job_id: str) -> dict[str, JobRecord]:
        i = shard_of(job_id)
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
        return self._s.shards[shard_of(job_id)].get(job_id)

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
        if old is None:
            self._count_key(job, 1)
        elif job.spec.requirements is not old.spec.requirements:
            self._count_key(old, -1)
            self._count_key(job, 1)
        if old is not None:
            self._unindex(old)
        else:
            self._s.size += 1
            if job.spec.gang is not None:
                self._set_add(self._s.gangs, (job.spec.queue, job.spec.gang.id), job.job_id)
        shard[job.job_id] = job
        self._index(job)

    def _count_key(self, job: JobRecord, change: int) -> None:
        key_id = self._keys.of(job.spec.requirements).id
        self._key_uses[key_id] = self._key_uses.get(key_id, 0) + change

    def delete(self, job_id: str) -> None:
        self._check_open()
        if self._fresh:
            self._index_fresh()
        old = self.get(job_id)
        if old is None:
            return
        self._unindex(old)
        self._count_key(old, -1)
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
        shard = self._s.shards[shard_of(job_id)]
        if id(shard) not in self._owned:
            shard = self._shard_for(job_id)
        if job_id in shard:
            return False  # a second submission: apply_one notes it as stale
        key = self._keys.intern(spec.requirements)
        job = new_job(slim_spec(spec, key.requirements), at)
        shard[job_id] = job
        self._s.size += 1
        uses = self._key_uses
        uses[key.id] = uses.get(key.id, 0) + 1
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
        published = self._finish(self._s, self._key_uses)
        assert published is not None
        return published

    def abort(self) -> None:
        if not self.done:
            self.done = True
            self._finish(None, {})

"""Keeps the query store in step with the log, by replaying entries through the lifecycle.

``catch_up()`` applies every entry after the store's checkpoint, in log order, in one
transaction per batch together with the new checkpoint. It is idempotent and safe to call from
any thread or process: the write transaction serialises updaters, and an updater that finds the
checkpoint moved re-reads from it. The process that appends calls it straight after appending
(so its own writes are visible to its next read); a background task calls it when the log's
signal fires, to pick up other processes' appends.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from armada.domain import events as ev
from armada.domain.events import LogEntry
from armada.domain.lifecycle import JobRecord, StaleEvent, apply_event
from armada.domain.states import TERMINAL_JOB_STATES, InvalidTransition
from armada.eventlog.base import EventLog, StoreBusy, StoreFull, StoreUnavailable
from armada.views.counts import count_changes, state_moves
from armada.views.sql import RowExists, Sql, insert_new
from armada.views.store import CHECKPOINT, JOB_COLUMNS, QueryStore, encode, job_row

log = logging.getLogger(__name__)

# One catch-up transaction applies up to this many events (entries hold from one event to a
# whole 1,000-job submission), read a few entries at a time so that memory stays bounded.
EVENTS_PER_TRANSACTION = 20_000
ENTRIES_PER_READ = 20
CACHE_SIZE = 200_000

_UPSERT_JOB = (
    f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) VALUES ({', '.join('?' * len(JOB_COLUMNS))})"
    f" ON CONFLICT (job_id) DO UPDATE SET"
    f" {', '.join(f'{c} = excluded.{c}' for c in JOB_COLUMNS[1:])}"
)


def _upsert_record(table: str, key: str) -> str:
    return (
        f"INSERT INTO {table} ({key}, record) VALUES (?, ?)"
        f" ON CONFLICT ({key}) DO UPDATE SET record = excluded.record"
    )


class ViewUpdater:
    def __init__(self, event_log: EventLog, store: QueryStore) -> None:
        self.log = event_log
        self._log = event_log
        self._store = store
        self._lock = threading.Lock()
        self.skipped = 0  # events that no longer applied (stale); see armada.domain.lifecycle
        # Recently changed jobs, as committed: a run's events come in quick succession, and
        # reading them back from the table dominates the cost of applying them. Valid only
        # while nobody else has written the views since our last commit (checked by offset).
        self._cache: OrderedDict[str, JobRecord] = OrderedDict()
        self._cache_offset = -1

    def catch_up(self, appended: Sequence[LogEntry] = ()) -> int:
        """Apply everything up to the log's head; return the new checkpoint.

        ``appended`` may carry entries the caller has just appended, saving a read of them;
        then only what precedes them is applied with them (the caller reads its writes), and
        what others appended after them is left to the next call (the follower of the log is
        woken by every append), rather than costing this one another transaction to look.
        """
        until = appended[-1].offset if appended else None
        copy_new = True
        with self._lock:
            # The entries are read before the write transaction, not in it: a catch-up that
            # held a connection while it waited for another one for the log stalled a pool
            # of one for its timeout. The transaction then checks the checkpoint they follow.
            expected, verified = self._cache_offset, False
            if expected < 0:
                expected, verified = self._store.checkpoint(), True
                self._cache.clear()
            while True:
                if appended and appended[0].offset == expected + 1:
                    entries = list(appended)
                else:
                    entries = self._read_some(expected)
                if not entries and verified:
                    self._cache_offset = expected
                    return expected
                try:
                    with self._store.write() as conn:
                        checkpoint = self._store.checkpoint(conn)
                        if checkpoint != expected:  # another process wrote the views
                            self._cache.clear()
                            self._cache_offset = -1
                            expected, verified = checkpoint, True
                            continue
                        self._cache_offset = -1  # until this transaction commits
                        if not entries:
                            self._cache_offset = checkpoint
                            return checkpoint
                        self._apply(conn, entries, copy_new)
                        conn.execute(
                            'INSERT INTO view_checkpoint (name, "offset") VALUES (?, ?)'
                            ' ON CONFLICT (name) DO UPDATE SET "offset" = excluded."offset"',
                            (CHECKPOINT, entries[-1].offset),
                        )
                except RowExists:  # rolled back: the same again, every job by the upsert
                    log.warning("view: a job the log submits again exists; writing it over")
                    self._cache.clear()  # it holds what the rolled-back pass applied
                    copy_new = False
                    continue
                copy_new = True
                self._cache_offset = expected = entries[-1].offset
                if until is not None and expected >= until:
                    return expected

    def catch_up_if_behind(self) -> None:
        """Catch up if the log has entries the views lack (cheap reads when it has none).

        Woken by an append of this process, it finds the appender applying it: it waits for
        that, and then the head is at or before what was committed (the views' checkpoint only
        grows: a rebuild runs with the other processes stopped), so nothing is read again."""
        with self._lock:
            head, committed = self._log.head(), self._cache_offset
        if head > committed and head > self._store.checkpoint():
            self.catch_up()

    def _read_some(self, after: int) -> list[LogEntry]:
        """Entries after ``after`` holding about EVENTS_PER_TRANSACTION events in all."""
        entries: list[LogEntry] = []
        events = 0
        while events < EVENTS_PER_TRANSACTION:
            chunk = self._log.read(after, ENTRIES_PER_READ)
            if not chunk:
                break
            entries.extend(chunk)
            events += sum(len(entry.sequence.events) for entry in chunk)
            after = chunk[-1].offset
        return entries

    def _apply(self, conn: Sql, entries: Sequence[LogEntry], copy_new: bool = True) -> None:
        referenced = {
            job_id
            for entry in entries
            for event in entry.sequence.events
            if not isinstance(event, ev.SubmitJob)
            and (job_id := ev.event_job_id(event)) is not None
        }
        jobs: dict[str, JobRecord | None] = {
            j: self._cache[j] for j in referenced if j in self._cache
        }
        jobs.update(self._store.get_jobs(referenced - jobs.keys(), conn))
        before = {job_id: job.state for job_id, job in jobs.items() if job is not None}
        changed: dict[str, JobRecord] = {}
        client_ids: list[tuple[str, str, str]] = []
        annotations: list[tuple[str, str, str]] = []
        new_runs: list[tuple[str, str]] = []
        for entry in entries:
            seq = entry.sequence
            for event in seq.events:
                job_id = ev.event_job_id(event)
                if job_id is None:
                    self._apply_control_plane(conn, event)
                    continue
                job = jobs.get(job_id)
                try:
                    updated = apply_event(job, event, seq.created, seq.user)  # type: ignore[arg-type]
                except (StaleEvent, InvalidTransition) as exc:
                    self.skipped += 1
                    log.debug("view: skipped event at offset %d: %s", entry.offset, exc)
                    continue
                jobs[job_id] = changed[job_id] = updated
                if isinstance(event, ev.SubmitJob):
                    spec = event.spec
                    if spec.client_id:
                        client_ids.append((spec.queue, spec.client_id, job_id))
                    annotations.extend((job_id, k, v) for k, v in spec.annotations.items())
                elif isinstance(event, ev.JobRunLeased):
                    new_runs.append((event.run_id, job_id))
        self._remember(changed)
        if changed:
            rows = [job_row(job) for job_id, job in changed.items() if job_id in before]
            if rows:
                conn.executemany(_UPSERT_JOB, rows)
            new = [job_row(job) for job_id, job in changed.items() if job_id not in before]
            if new:
                insert_new(conn, "jobs", JOB_COLUMNS, new, _UPSERT_JOB, copy=copy_new)
            count_changes(conn, state_moves(changed, before))
        if client_ids:
            conn.executemany(
                "INSERT INTO client_ids (queue, client_id, job_id) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                client_ids,
            )
        if annotations:
            conn.executemany(
                "INSERT INTO job_annotations (job_id, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                annotations,
            )
        if new_runs:
            conn.executemany(
                "INSERT INTO runs (run_id, job_id) VALUES (?, ?) ON CONFLICT DO NOTHING", new_runs
            )

    def _remember(self, jobs: Mapping[str, JobRecord]) -> None:
        cache = self._cache
        for job_id, job in jobs.items():
            if job.state in TERMINAL_JOB_STATES:
                cache.pop(job_id, None)
            else:
                if job_id in cache:  # a new one goes in last anyway
                    cache.move_to_end(job_id)
                cache[job_id] = job
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)

    @staticmethod
    def _apply_control_plane(conn: Sql, event: ev.Event) -> None:
        match event:
            case ev.QueueCreated(queue=queue) | ev.QueueUpdated(queue=queue):
                conn.execute(
                    _upsert_record("queues", "name"),
                    (queue.name, encode(queue)),
                )
            case ev.QueueDeleted(name=name):
                conn.execute("DELETE FROM queues WHERE name = ?", (name,))
            case ev.RetryPolicyUpserted(policy=policy):
                conn.execute(
                    _upsert_record("retry_policies", "name"),
                    (policy.name, encode(policy)),
                )
            case ev.RetryPolicyDeleted(name=name):
                conn.execute("DELETE FROM retry_policies WHERE name = ?", (name,))
            case ev.ExecutorSettingsUpserted(settings=settings):
                conn.execute(
                    _upsert_record("executor_settings", "executor"),
                    (settings.executor, encode(settings)),
                )
            case ev.ExecutorSettingsDeleted(executor=executor):
                conn.execute("DELETE FROM executor_settings WHERE executor = ?", (executor,))
            case _:
                log.warning("view: unexpected control-plane event %s", type(event).__name__)


async def follow_log(updater: ViewUpdater, interval: float) -> None:
    """Keep the views up to date with appends made by other processes (runs until cancelled).

    Appends made through this process's ``Storage.append`` are applied at once by the
    appender; this catches the rest: when the log's signal fires (PostgreSQL announces other
    processes' appends) or at the latest every ``interval`` seconds.
    """
    while True:
        await updater.log.signal.wait_async(interval)
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # wait_for (Python 3.11) may swallow a cancel that raced the wake-up: honour it.
            raise asyncio.CancelledError
        try:
            await asyncio.to_thread(updater.catch_up_if_behind)
        except (StoreFull, StoreBusy, StoreUnavailable) as exc:
            log.warning("view: %s; retrying", exc)
        except Exception:
            log.exception("view: catching up with the log failed; retrying")

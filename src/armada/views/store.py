"""The query store: the state of every job, queue and retry policy, as SQL tables.

It is a view of the event log, kept up to date by :class:`~armada.views.updater.ViewUpdater`
(which replays the log through the same lifecycle function the scheduler uses). The tables
carry a checkpoint (the last log offset applied) in the same transaction as the data, so a
crash at any point is repaired by replaying from the checkpoint: the log is the truth.

With the SQLite event log the views live in their own file beside the log's (``views.db`` in
the data directory), so that a damaged views file can be thrown away and rebuilt from the log
(which happens by itself at open); with the in-memory log they live in an in-memory SQLite
database; with PostgreSQL in the log's database. The queries here are written once for both
(see :mod:`armada.views.sql`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import msgspec

from armada.domain.lifecycle import JobRecord
from armada.domain.queues import ExecutorSettings, Queue, RetryPolicy
from armada.domain.states import JobState
from armada.views.counts import count_changes, forgotten
from armada.views.sql import Sql, ViewsBackend
from armada.views.sqlite_views import SqliteViews

CHECKPOINT = "query-store"
ACTIVE_STATES = (JobState.LEASED, JobState.PENDING, JobState.RUNNING)
NON_TERMINAL_STATES = (JobState.QUEUED, *ACTIVE_STATES)
TERMINAL_STATES = tuple(state for state in JobState if state.terminal)

_encoder = msgspec.msgpack.Encoder()
_job_decoder = msgspec.msgpack.Decoder(JobRecord)
_queue_decoder = msgspec.msgpack.Decoder(Queue)
_policy_decoder = msgspec.msgpack.Decoder(RetryPolicy)
_executor_decoder = msgspec.msgpack.Decoder(ExecutorSettings)


def encode(value: object) -> bytes:
    return _encoder.encode(value)


def decode_job(data: bytes) -> JobRecord:
    return _job_decoder.decode(data)


JOB_COLUMNS = (
    "job_id",
    "queue",
    "job_set",
    "state",
    "priority",
    "priority_class",
    "submitted",
    "last_transition",
    "external_job_uri",
    "latest_run_id",
    "pool",
    "executor",
    "node",
    "owner",
    "namespace",
    "cpu",
    "memory",
    "ephemeral_storage",
    "gpu",
    "record",
)
# The Lookout API's resource columns: the request's milli-units as Armada's Lookout shows them
# (CPU in millicores; memory, ephemeral storage in bytes; GPUs whole).
_RESOURCE_COLUMNS = (
    ("cpu", 1),
    ("memory", 1000),
    ("ephemeral-storage", 1000),
    ("nvidia.com/gpu", 1000),
)


def job_row(job: JobRecord) -> tuple[object, ...]:
    """The job's row of ``jobs`` (JOB_COLUMNS); written out field by field, without the
    records' properties: the views write one per job of every batch."""
    runs, spec = job.runs, job.spec
    run = runs[-1] if runs else None
    resources = spec.requirements.resources
    return (
        spec.job_id,
        spec.queue,
        spec.job_set,
        job.state.value,
        job.priority,
        spec.requirements.priority_class,
        job.submitted_at,
        job.last_transition,
        spec.external_job_uri,
        run.run_id if run else "",
        run.pool if run else "",
        run.executor if run else "",
        run.node if run else "",
        spec.owner,
        spec.namespace,
        *[resources.get(name, 0) // unit for name, unit in _RESOURCE_COLUMNS],
        _encoder.encode(job),
    )


class QueryStore:
    """Read access to the views, and the write primitives the updater uses.

    ``path`` is a SQLite database file, or ``None`` for a private in-memory database;
    ``backend`` (PostgreSQL's, :class:`~armada.views.postgres.PostgresViews`) replaces both.
    """

    def __init__(self, path: str | Path | None = None, *, backend: ViewsBackend | None = None):
        self._backend: ViewsBackend = SqliteViews(path) if backend is None else backend

    def _read(self) -> AbstractContextManager[Sql]:
        return self._backend.read()

    def read(self) -> AbstractContextManager[Sql]:
        """A connection for the read-only queries of other components (the Lookout API's
        filtered pages and groups, written in the SQL both databases speak)."""
        return self._backend.read()

    def write(self) -> AbstractContextManager[Sql]:
        """A write transaction, serialised with every other writer (in any process)."""
        return self._backend.write()

    def reset(self) -> None:
        """Empty every view, to rebuild them from the log (the log is untouched)."""
        self._backend.reset()

    def all_jobs(self) -> list[JobRecord]:
        with self._read() as conn:
            rows = conn.execute("SELECT record FROM jobs ORDER BY job_id").fetchall()
        return [decode_job(r[0]) for r in rows]

    def close(self) -> None:
        self._backend.close()

    # --- checkpoint -------------------------------------------------------------------------

    def checkpoint(self, conn: Sql | None = None) -> int:
        if conn is None:
            with self._read() as reader:
                return self.checkpoint(reader)
        row = conn.execute(
            'SELECT "offset" FROM view_checkpoint WHERE name = ?', (CHECKPOINT,)
        ).fetchone()
        return int(row[0]) if row else 0

    # --- jobs -------------------------------------------------------------------------------

    def get_jobs(self, job_ids: Iterable[str], conn: Sql | None = None) -> dict[str, JobRecord]:
        ids = list(dict.fromkeys(job_ids))
        if not ids:
            return {}
        if conn is None:
            with self._read() as reader:
                return self.get_jobs(ids, reader)
        return {job_id: decode_job(data) for job_id, data in _by_job_id(conn, "record", ids)}

    def get_job_states(self, job_ids: Iterable[str]) -> dict[str, JobState]:
        """The state of each job that exists, from its column (no record is decoded)."""
        ids = list(dict.fromkeys(job_ids))
        with self._read() as reader:
            return {job_id: JobState(state) for job_id, state in _by_job_id(reader, "state", ids)}

    def get_job(self, job_id: str) -> JobRecord | None:
        return self.get_jobs([job_id]).get(job_id)

    def job_ids_for_runs(self, run_ids: Sequence[str]) -> dict[str, str]:
        if not run_ids:
            return {}
        marks = ",".join("?" * len(run_ids))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT run_id, job_id FROM runs WHERE run_id IN ({marks})", list(run_ids)
            ).fetchall()
        return dict(rows)

    def jobs_in_job_set(
        self, queue: str, job_set: str, states: Iterable[JobState]
    ) -> list[JobRecord]:
        wanted = [s.value for s in states]
        marks = ",".join("?" * len(wanted))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT record FROM jobs WHERE queue = ? AND job_set = ? AND state IN ({marks})"
                " ORDER BY submitted, job_id",
                (queue, job_set, *wanted),
            ).fetchall()
        return [decode_job(r[0]) for r in rows]

    def jobs_in_queue(self, queue: str, states: Iterable[JobState]) -> list[JobRecord]:
        wanted = [s.value for s in states]
        marks = ",".join("?" * len(wanted))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT record FROM jobs WHERE queue = ? AND state IN ({marks})"
                " ORDER BY submitted, job_id",
                (queue, *wanted),
            ).fetchall()
        return [decode_job(r[0]) for r in rows]

    def count_jobs_in_queue(self, queue: str, states: Iterable[JobState]) -> int:
        wanted = [s.value for s in states]
        marks = ",".join("?" * len(wanted))
        with self._read() as conn:
            (count,) = conn.execute(
                f"SELECT COUNT(*) FROM jobs WHERE queue = ? AND state IN ({marks})",
                (queue, *wanted),
            ).fetchone()
        return int(count)

    def jobs_on_executor(self, executor: str, node: str | None = None) -> list[JobRecord]:
        """Jobs with an active run on an executor (on one of its nodes, if ``node`` is given)."""
        wanted = [state.value for state in ACTIVE_STATES]
        sql = "SELECT record FROM jobs WHERE executor = ? AND state IN (?, ?, ?)"
        args: list[object] = [executor, *wanted]
        if node is not None:
            sql += " AND node = ?"
            args.append(node)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY submitted, job_id", args).fetchall()
        return [decode_job(r[0]) for r in rows]

    def job_by_external_uri(self, queue: str, job_set: str, uri: str) -> JobRecord | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT record FROM jobs WHERE queue = ? AND job_set = ? AND external_job_uri = ?"
                " ORDER BY submitted DESC LIMIT 1",
                (queue, job_set, uri),
            ).fetchone()
        return decode_job(row[0]) if row else None

    def active_queues_by_pool(self, unassigned_pool: str) -> dict[str, list[str]]:
        """Queues with queued or running jobs, per pool (queued jobs: their validated pools)."""
        pools: dict[str, set[str]] = {}
        with self._read() as conn:
            for queue, pool in conn.execute(
                "SELECT DISTINCT queue, pool FROM jobs WHERE state IN (?, ?, ?)",
                [s.value for s in ACTIVE_STATES],
            ):
                pools.setdefault(pool or unassigned_pool, set()).add(queue)
            for queue, data in conn.execute(
                "SELECT queue, record FROM jobs WHERE state = ?", (JobState.QUEUED.value,)
            ):
                job = decode_job(data)
                for pool in job.validated_pools or (unassigned_pool,):
                    pools.setdefault(pool, set()).add(queue)
        return {pool: sorted(queues) for pool, queues in sorted(pools.items())}

    def job_ids_for_client_ids(self, queue: str, client_ids: Sequence[str]) -> dict[str, str]:
        if not client_ids:
            return {}
        found: dict[str, str] = {}
        with self._read() as conn:
            for start in range(0, len(client_ids), 500):
                chunk = list(client_ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                found.update(
                    conn.execute(
                        f"SELECT client_id, job_id FROM client_ids WHERE queue = ?"
                        f" AND client_id IN ({marks})",
                        (queue, *chunk),
                    ).fetchall()
                )
        return found

    # --- retention --------------------------------------------------------------------------

    def expired_job_sets(self, before: float, limit: int) -> list[tuple[str, str]]:
        """Job sets whose jobs are all finished, the last of them before ``before``."""
        live = ",".join("?" * len(NON_TERMINAL_STATES))
        with self._read() as conn:
            rows = conn.execute(
                "SELECT queue, job_set FROM jobs GROUP BY queue, job_set"
                f" HAVING MAX(last_transition) < ? AND SUM(CASE WHEN state IN ({live})"
                " THEN 1 ELSE 0 END) = 0 ORDER BY MAX(last_transition) LIMIT ?",
                (before, *(s.value for s in NON_TERMINAL_STATES), limit),
            ).fetchall()
        return [(queue, job_set) for queue, job_set in rows]

    def forget_jobs(self, queue: str, job_set: str, before: float, limit: int) -> list[JobRecord]:
        """Delete up to ``limit`` of a job set's jobs finished before ``before`` (their runs
        and client ids too); return them."""
        done = ",".join("?" * len(TERMINAL_STATES))
        with self.write() as conn:
            rows = conn.execute(
                f"SELECT job_id, record FROM jobs WHERE queue = ? AND job_set = ?"
                f" AND state IN ({done}) AND last_transition < ? LIMIT ?",
                (queue, job_set, *(s.value for s in TERMINAL_STATES), before, limit),
            ).fetchall()
            jobs = [decode_job(record) for _, record in rows]
            client_ids = [job.spec.client_id for job in jobs if job.spec.client_id]
            conn.executemany("DELETE FROM jobs WHERE job_id = ?", [(j.job_id,) for j in jobs])
            conn.executemany(
                "DELETE FROM job_annotations WHERE job_id = ?",
                [(j.job_id,) for j in jobs if j.spec.annotations],
            )
            conn.executemany(
                "DELETE FROM runs WHERE run_id = ?", [(r.run_id,) for j in jobs for r in j.runs]
            )
            conn.executemany(
                "DELETE FROM client_ids WHERE queue = ? AND client_id = ?",
                [(queue, client_id) for client_id in client_ids],
            )
            count_changes(conn, forgotten(jobs))
        return jobs

    # --- control plane ----------------------------------------------------------------------

    def get_queue(self, name: str) -> Queue | None:
        with self._read() as conn:
            row = conn.execute("SELECT record FROM queues WHERE name = ?", (name,)).fetchone()
        return _queue_decoder.decode(row[0]) if row else None

    def list_queues(self) -> list[Queue]:
        with self._read() as conn:
            rows = conn.execute("SELECT record FROM queues ORDER BY name").fetchall()
        return [_queue_decoder.decode(r[0]) for r in rows]

    def get_retry_policy(self, name: str) -> RetryPolicy | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT record FROM retry_policies WHERE name = ?", (name,)
            ).fetchone()
        return _policy_decoder.decode(row[0]) if row else None

    def list_retry_policies(self) -> list[RetryPolicy]:
        with self._read() as conn:
            rows = conn.execute("SELECT record FROM retry_policies ORDER BY name").fetchall()
        return [_policy_decoder.decode(r[0]) for r in rows]

    def list_executor_settings(self) -> list[ExecutorSettings]:
        with self._read() as conn:
            rows = conn.execute("SELECT record FROM executor_settings ORDER BY executor").fetchall()
        return [_executor_decoder.decode(r[0]) for r in rows]


def _by_job_id(conn: Sql, column: str, ids: list[str]) -> Iterator[tuple[str, Any]]:
    """(job_id, column) of the jobs among ``ids`` that exist, 500 ids to a query."""
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        yield from conn.execute(
            f"SELECT job_id, {column} FROM jobs WHERE job_id IN ({marks})", chunk
        )

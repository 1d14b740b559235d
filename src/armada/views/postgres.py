"""The views in PostgreSQL, in the log's database, through the log's connection pool.

The tables are the SQLite views' (:data:`~armada.views.sql.VIEWS_DDL` with PostgreSQL's
types), made by ``armada migrate`` (:data:`VIEW_STEPS`) and checked at open. Writers of the
views, in any process, take one transaction-scoped advisory lock, as SQLite's ``BEGIN
IMMEDIATE`` serialises them: an updater reads the checkpoint and applies the entries after it
without another updater doing the same underneath it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

import psycopg
from psycopg_pool import ConnectionPool

from armada.eventlog.postgres import translated
from armada.eventlog.postgres_schema import Step, check_schema
from armada.views.sql import POSTGRES_TYPES, VIEWS_DDL, VIEWS_LOOKOUT_STEP, PgSql
from armada.views.sqlite_views import VIEW_TABLES

_DDL = tuple(s.strip() for s in VIEWS_DDL.format(**POSTGRES_TYPES).split(";") if s.strip())
VIEW_STEPS: Sequence[Step] = (
    _DDL,
    # Step 2 adds the Lookout API's columns; the DDL again (IF NOT EXISTS) makes the new
    # tables and indexes, and emptying the views makes the updater refill them from the log.
    (*VIEWS_LOOKOUT_STEP, *_DDL, f"TRUNCATE {', '.join(VIEW_TABLES)}"),
    # Step 3: a queue's jobs in time order (the jobs page filtered by queue alone), which the
    # (queue, state, time) index cannot give without a state.
    (*(s for s in _DDL if "jobs_by_queue_time" in s),),
)
# The views are made from the log and carry their checkpoint in the same transaction, so their
# commits need not wait for the disk: a crash of the database can lose only the last view
# transactions, whole, checkpoint included, and they are applied from the (durable) log again.
# Advisory locks belong to the whole database: the lock is the schema's, or stores in other
# schemas of one database (tests, benchmarks, several installations) would wait on each other.
# BEGIN goes with them: one round trip.
_BEGIN_WRITE = (
    b"BEGIN; SET LOCAL synchronous_commit = off;"
    b" SELECT pg_advisory_xact_lock(hashtext('armada-views:' || current_schema()))"
)


class PostgresViews:
    def __init__(self, pool: ConnectionPool, url: str) -> None:
        self._pool = pool
        self._types: dict[str, dict[str, str]] = {}  # the tables' column types, for COPY
        with translated(), pool.connection() as conn:
            check_schema(conn, url, "views", VIEW_STEPS)

    @contextmanager
    def read(self) -> Iterator[PgSql]:
        with translated(self._pool), self._pool.connection() as conn:
            yield PgSql(conn, self._types)

    @contextmanager
    def write(self) -> Iterator[PgSql]:
        with translated(self._pool), self._pool.connection() as conn:
            conn.execute(_BEGIN_WRITE)
            try:
                yield PgSql(conn, self._types)
            except BaseException:
                with suppress(psycopg.Error):  # a broken connection: the pool drops it
                    conn.execute(b"ROLLBACK")
                raise
            conn.execute(b"COMMIT")

    def reset(self) -> None:
        with self.write() as sql:
            sql.execute(f"TRUNCATE {', '.join(VIEW_TABLES)}")

    def close(self) -> None:
        """The pool is the log's, closed with it."""

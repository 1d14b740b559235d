"""The seam between the query store's SQL and the database that runs it.

The views' queries are written once (in :mod:`armada.views.store` and the updater), in the SQL
SQLite and PostgreSQL share: ``?`` placeholders, ``INSERT ... ON CONFLICT``, ``excluded``,
quoted ``"offset"``. A :class:`ViewsBackend` supplies connections (SQLite's own, or
:class:`PgSql` wrapping a pooled PostgreSQL connection, which turns ``?`` into ``%s``), the
write transaction, and the schema (:data:`VIEWS_DDL`, written once with a type per dialect).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import psycopg


class Rows(Protocol):
    """What a query returns: a cursor over its rows."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Sql(Protocol):
    """A connection, inside a write transaction or for reading (``sqlite3.Connection`` is one)."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> object: ...


class ViewsBackend(Protocol):
    """Where the views' tables live."""

    def read(self) -> AbstractContextManager[Sql]:
        """A connection for reads (each statement sees the newest committed state)."""
        ...

    def write(self) -> AbstractContextManager[Sql]:
        """A write transaction, serialised with every other writer of these views (in any
        process); committed when the block ends, rolled back on an exception."""
        ...

    def reset(self) -> None:
        """Empty every view, to rebuild them from the log (the log is untouched)."""
        ...

    def close(self) -> None: ...


class RowExists(Exception):
    """A row :func:`insert_new` was to add exists already: the transaction cannot go on (it
    is rolled back); the caller does it again with ``copy=False``."""


def insert_new(
    conn: Sql, table: str, columns: Sequence[str], rows: list[Any], upsert: str, *, copy: bool
) -> None:
    """Write rows that should all be new (the jobs a batch submits). On PostgreSQL (``copy``)
    with a binary COPY: the database does about a fifth less work than for the ``upsert`` (no
    speculative insertion), and Python a third of the work of the upsert's arrays; should a
    row exist after all (a log that submits one job twice), :class:`RowExists`. Otherwise,
    and elsewhere, ``upsert``."""
    if copy and isinstance(conn, PgSql) and len(rows) > 1:
        conn.copy_new(table, columns, rows)
    else:
        conn.executemany(upsert, rows)


class PgSql:
    """A psycopg connection that speaks the views' SQL (``?`` placeholders).

    ``types`` caches the tables' column types (for binary COPY), shared by the connections of
    one store."""

    def __init__(self, conn: psycopg.Connection[Any], types: dict[str, dict[str, str]]) -> None:
        self.conn = conn
        self.types = types

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows:
        return self.conn.execute(_pg(sql), parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> object:
        """An ``INSERT ... VALUES (?, ...)`` of many rows becomes one statement taking one
        array per column (``SELECT * FROM unnest(...)``): one round trip, not one per row."""
        rows = list(parameters)
        if len(rows) == 1:  # psycopg's executemany would open a pipeline for it
            self.conn.execute(_pg(sql), rows[0])
            return None
        values = _VALUES.search(sql)
        if values is None or not rows:
            with self.conn.cursor() as cursor:
                cursor.executemany(_pg(sql), rows)
            return None
        columns = [list(column) for column in zip(*rows, strict=True)]
        arrays = ", ".join(f"%b::{_ARRAY_TYPES[type(column[0])]}" for column in columns)
        bulk = f"{sql[: values.start()]}SELECT * FROM unnest({arrays}){sql[values.end() :]}"
        self.conn.execute(bulk.encode(), columns)
        return None

    def copy_new(self, table: str, columns: Sequence[str], rows: list[Any]) -> None:
        """:func:`insert_new` on PostgreSQL."""
        names = self.types.get(table) or self._column_types(table)
        try:
            with self.conn.cursor().copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)".encode()
            ) as copy:
                copy.set_types([names[column] for column in columns])
                for row in rows:
                    copy.write_row(row)
        except psycopg.errors.UniqueViolation as exc:
            raise RowExists(str(exc)) from exc

    def _column_types(self, table: str) -> dict[str, str]:
        self.types[table] = dict(
            self.conn.execute(
                "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (table,),
            ).fetchall()
        )
        return self.types[table]


_ARRAY_TYPES = {str: "text[]", int: "bigint[]", float: "float8[]", bytes: "bytea[]"}
_VALUES = re.compile(r"VALUES (\(\?(?:, \?)*\))")


def _pg(sql: str) -> bytes:
    """``?`` placeholders as psycopg's ``%s`` (the views' SQL has no other ``?`` or ``%``)."""
    return sql.replace("?", "%s").encode()


# The views' tables, once for both dialects: {blob}, {real} and {bigint} are the types.
VIEWS_DDL = """
CREATE TABLE IF NOT EXISTS view_checkpoint (
    name      TEXT PRIMARY KEY,
    "offset"  {bigint} NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id           TEXT PRIMARY KEY,
    queue            TEXT NOT NULL,
    job_set          TEXT NOT NULL,
    state            TEXT NOT NULL,
    priority         {bigint} NOT NULL,
    priority_class   TEXT NOT NULL,
    submitted        {real} NOT NULL,
    last_transition  {real} NOT NULL,
    external_job_uri TEXT NOT NULL DEFAULT '',
    latest_run_id    TEXT NOT NULL DEFAULT '',
    pool             TEXT NOT NULL DEFAULT '',
    executor         TEXT NOT NULL DEFAULT '',
    node             TEXT NOT NULL DEFAULT '',
    owner            TEXT NOT NULL DEFAULT '',
    namespace        TEXT NOT NULL DEFAULT '',
    cpu              {bigint} NOT NULL DEFAULT 0,
    memory           {bigint} NOT NULL DEFAULT 0,
    ephemeral_storage {bigint} NOT NULL DEFAULT 0,
    gpu              {bigint} NOT NULL DEFAULT 0,
    record           {blob} NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_job_set ON jobs (queue, job_set, state);
CREATE INDEX IF NOT EXISTS jobs_by_queue_state_time ON jobs (queue, state, submitted);
CREATE INDEX IF NOT EXISTS jobs_by_state_time ON jobs (state, submitted);
CREATE INDEX IF NOT EXISTS jobs_by_submitted ON jobs (submitted);
CREATE INDEX IF NOT EXISTS jobs_by_queue_time ON jobs (queue, submitted);
CREATE INDEX IF NOT EXISTS jobs_by_job_set_name ON jobs (job_set, state);
CREATE INDEX IF NOT EXISTS jobs_by_executor ON jobs (executor, node, state)
    WHERE executor != '';
CREATE INDEX IF NOT EXISTS jobs_by_external_uri ON jobs (queue, job_set, external_job_uri)
    WHERE external_job_uri != '';
CREATE TABLE IF NOT EXISTS runs (
    run_id  TEXT PRIMARY KEY,
    job_id  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS job_annotations (
    job_id  TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (job_id, key)
);
CREATE INDEX IF NOT EXISTS job_annotations_by_key ON job_annotations (key, value);
CREATE TABLE IF NOT EXISTS job_set_counts (
    queue    TEXT NOT NULL,
    job_set  TEXT NOT NULL,
    state    TEXT NOT NULL,
    n        {bigint} NOT NULL,
    PRIMARY KEY (queue, job_set, state)
);
CREATE TABLE IF NOT EXISTS client_ids (
    queue      TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    PRIMARY KEY (queue, client_id)
);
CREATE TABLE IF NOT EXISTS queues (
    name    TEXT PRIMARY KEY,
    record  {blob} NOT NULL
);
CREATE TABLE IF NOT EXISTS retry_policies (
    name    TEXT PRIMARY KEY,
    record  {blob} NOT NULL
);
CREATE TABLE IF NOT EXISTS executor_settings (
    executor  TEXT PRIMARY KEY,
    record    {blob} NOT NULL
)
"""
# PostgreSQL's step 2 (views of step 1 gain them; a new database has them from step 1): the
# Lookout API's columns, annotations and indexes. The views are emptied so that the updater
# replays the log into them with the new columns filled.
VIEWS_LOOKOUT_STEP = (
    *(
        f"ALTER TABLE jobs ADD COLUMN IF NOT EXISTS {column}"
        for column in (
            "owner TEXT NOT NULL DEFAULT ''",
            "namespace TEXT NOT NULL DEFAULT ''",
            "cpu BIGINT NOT NULL DEFAULT 0",
            "memory BIGINT NOT NULL DEFAULT 0",
            "ephemeral_storage BIGINT NOT NULL DEFAULT 0",
            "gpu BIGINT NOT NULL DEFAULT 0",
        )
    ),
    "DROP INDEX IF EXISTS jobs_by_queue_state",
    "DROP INDEX IF EXISTS jobs_by_state",
)
SQLITE_TYPES = {"blob": "BLOB", "real": "REAL", "bigint": "INTEGER"}
POSTGRES_TYPES = {"blob": "BYTEA", "real": "DOUBLE PRECISION", "bigint": "BIGINT"}

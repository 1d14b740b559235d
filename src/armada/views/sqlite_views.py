"""The views in SQLite: their own file beside the log's (``views.db``), or in memory.

A damaged views file is thrown away and rebuilt from the log at open; views of another schema
version are dropped and rebuilt the same way (the updater replays the log into new tables).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from armada.eventlog.base import StoreCorrupt
from armada.eventlog.sqlite_errors import check_integrity, rollback, translated
from armada.views.sql import SQLITE_TYPES, VIEWS_DDL

log = logging.getLogger(__name__)

VIEWS_REMEDY = (
    "the views are rebuilt from the event log: restart the process (a damaged views file is"
    " replaced at open) or run `armada rebuild-views`"
)
# Bump when the tables change: views of an older version are dropped and rebuilt from the log.
SCHEMA_VERSION = 3
VIEW_TABLES = (
    "view_checkpoint",
    "jobs",
    "job_annotations",
    "job_set_counts",
    "runs",
    "client_ids",
    "queues",
    "retry_policies",
    "executor_settings",
)
_SCHEMA = VIEWS_DDL.format(**SQLITE_TYPES)


class SqliteViews:
    """``path`` is a database file, or ``None`` for a private in-memory database."""

    def __init__(self, path: str | Path | None) -> None:
        self._memory = path is None
        self._path = ":memory:" if path is None else str(path)
        if path is not None:
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        try:
            self._writer = self._open()
        except StoreCorrupt as exc:
            if self._memory:
                raise
            log.warning("%s: rebuilding the views from the log", exc)
            self.close()
            remove_views_file(self._path)
            self._writer = self._open()

    def _open(self) -> sqlite3.Connection:
        with translated(self._path, VIEWS_REMEDY):
            conn = self._connect()
            check_integrity(conn, self._path, VIEWS_REMEDY)
            self._migrate(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        if not self._memory:
            conn.execute("PRAGMA journal_mode=WAL")
            # The log is the truth and the checkpoint commits with the data, so a view
            # transaction lost to a power cut is simply replayed: NORMAL is safe here.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
        self._connections.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        if self._memory:
            return self._writer
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        if self._memory:
            with self._lock:
                yield self._writer
        else:
            with translated(self._path, VIEWS_REMEDY):
                yield self._reader()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Serialised in-process and, through SQLite's write lock, across processes."""
        with self._lock, translated(self._path, VIEWS_REMEDY):
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                rollback(conn)
                raise

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS view_meta (key TEXT PRIMARY KEY, value TEXT)")
        row = conn.execute("SELECT value FROM view_meta WHERE key = 'schema'").fetchone()
        if row is None or int(row[0]) != SCHEMA_VERSION:
            self._reset(conn)
        else:
            conn.executescript(_SCHEMA)

    def reset(self) -> None:
        self._reset(self._writer)

    def _reset(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for table in VIEW_TABLES:
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                conn.execute("COMMIT")
            except BaseException:
                rollback(conn)
                raise
        conn.executescript(_SCHEMA)
        conn.execute(
            "INSERT OR REPLACE INTO view_meta (key, value) VALUES ('schema', ?)",
            (str(SCHEMA_VERSION),),
        )

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()


def remove_views_file(path: str | Path) -> None:
    """Delete a views database and its WAL files (they are rebuilt from the log)."""
    for suffix in ("", "-wal", "-shm"):
        with suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")

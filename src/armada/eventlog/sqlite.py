"""The embedded event log: one SQLite database file in WAL mode.

Appends take SQLite's write lock (``BEGIN IMMEDIATE``), so several processes may share one
file; offsets are assigned under that lock and are therefore gap-free and ordered. With
``synchronous=FULL`` (the default) an append is on disk when it returns; ``NORMAL`` survives a
crash of the process (not of the machine) and is faster.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from armada.domain.events import EventSequence, LogEntry
from armada.eventlog.base import AppendSignal, EventLogError, check_limits
from armada.eventlog.codec import decode_sequence, encode_sequence

_SCHEMA = """
CREATE TABLE IF NOT EXISTS event_log (
    offset   INTEGER PRIMARY KEY,
    queue    TEXT NOT NULL,
    job_set  TEXT NOT NULL,
    created  REAL NOT NULL,
    payload  BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS event_log_by_job_set ON event_log (queue, job_set, offset);
"""

SYNC_MODES = ("FULL", "NORMAL", "OFF")


def connect(path: str, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open a connection with the settings every user of the database file needs."""
    if synchronous.upper() not in SYNC_MODES:
        raise EventLogError(f"synchronous must be one of {SYNC_MODES}, got {synchronous!r}")
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SqliteEventLog:
    """The log in ``path`` (created if missing, with its parent directory)."""

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        self.path = str(path)
        if self.path == ":memory:" or not self.path:
            raise EventLogError("the SQLite event log needs a file path; use memory:// for tests")
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous
        self._write_lock = threading.Lock()
        self._writer = connect(self.path, synchronous)
        self._writer.executescript(_SCHEMA)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._signal = AppendSignal()

    @property
    def signal(self) -> AppendSignal:
        return self._signal

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, self._synchronous)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def append(self, sequences: Sequence[EventSequence]) -> list[LogEntry]:
        if not sequences:
            return []
        encoded = [encode_sequence(s) for s in sequences]
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                (head,) = conn.execute("SELECT COALESCE(MAX(offset), 0) FROM event_log").fetchone()
                rows = [
                    (head + 1 + i, s.queue, s.job_set, s.created, data)
                    for i, (s, data) in enumerate(zip(sequences, encoded, strict=True))
                ]
                conn.executemany(
                    "INSERT INTO event_log (offset, queue, job_set, created, payload)"
                    " VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        self._signal.fire()
        return [LogEntry(offset=row[0], sequence=s) for row, s in zip(rows, sequences, strict=True)]

    def read(self, after: int, limit: int) -> list[LogEntry]:
        check_limits(after, limit)
        rows = self._reader().execute(
            "SELECT offset, payload FROM event_log WHERE offset > ? ORDER BY offset LIMIT ?",
            (after, limit),
        )
        return [LogEntry(offset=o, sequence=decode_sequence(p)) for o, p in rows]

    def read_job_set(self, queue: str, job_set: str, after: int, limit: int) -> list[LogEntry]:
        check_limits(after, limit)
        rows = self._reader().execute(
            "SELECT offset, payload FROM event_log WHERE queue = ? AND job_set = ? AND offset > ?"
            " ORDER BY offset LIMIT ?",
            (queue, job_set, after, limit),
        )
        return [LogEntry(offset=o, sequence=decode_sequence(p)) for o, p in rows]

    def job_set_exists(self, queue: str, job_set: str) -> bool:
        row = (
            self._reader()
            .execute(
                "SELECT 1 FROM event_log WHERE queue = ? AND job_set = ? LIMIT 1", (queue, job_set)
            )
            .fetchone()
        )
        return row is not None

    def head(self) -> int:
        (head,) = (
            self._reader().execute("SELECT COALESCE(MAX(offset), 0) FROM event_log").fetchone()
        )
        return int(head)

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._write_lock:
            self._writer.close()

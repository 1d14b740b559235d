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
from armada.eventlog.base import (
    NEVER_TOUCHED,
    AppendSignal,
    EventLogError,
    Expect,
    KeyState,
    PreconditionFailed,
    StoreCorrupt,
    check_limits,
)
from armada.eventlog.codec import decode_sequence, encode_sequence
from armada.eventlog.keys import key_effects
from armada.eventlog.sqlite_errors import check_integrity, rollback, translated

_SCHEMA = """
CREATE TABLE IF NOT EXISTS event_log (
    offset   INTEGER PRIMARY KEY,
    queue    TEXT NOT NULL,
    job_set  TEXT NOT NULL,
    created  REAL NOT NULL,
    payload  BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS event_log_by_job_set ON event_log (queue, job_set, offset);
CREATE TABLE IF NOT EXISTS log_keys (
    key      TEXT PRIMARY KEY,
    present  INTEGER NOT NULL,
    version  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_meta (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
"""

# The newest offset: of the entries, or remembered in log_meta when retention deleted them.
_HEAD = (
    "SELECT MAX(COALESCE((SELECT MAX(offset) FROM event_log), 0),"
    " COALESCE((SELECT CAST(value AS INTEGER) FROM log_meta WHERE name = 'head'), 0))"
)

# How to recover from a damaged log file (it is the truth: it cannot be rebuilt).
LOG_REMEDY = (
    "the event log cannot be rebuilt from anything else: stop every Armada process and restore"
    " it from a backup (docs/operations.md, 'Backup and restore'), then run"
    " `armada rebuild-views`"
)

SYNC_MODES = ("FULL", "NORMAL", "OFF")
TAIL_CHECKED = 100  # newest entries read at open...
TAIL_DECODED_BYTES = 2**20  # ...and decoded, up to this many bytes of them


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
        with translated(self.path, LOG_REMEDY):
            self._writer = connect(self.path, synchronous)
            try:
                self._writer.executescript(_SCHEMA)
                self._check_tail()
                check_integrity(self._writer, self.path, LOG_REMEDY)
                self._build_keys()
            except BaseException:
                self._writer.close()
                raise
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

    def _check_tail(self) -> None:
        """Read the newest entries, where damage from a crash or a full disk would be, and
        decode the newest of them: a store that opens must be able to serve them."""
        conn = self._writer
        conn.execute(
            "SELECT offset, length(payload) FROM event_log ORDER BY offset DESC LIMIT ?",
            (TAIL_CHECKED,),
        ).fetchall()
        rows = conn.execute("SELECT offset, payload FROM event_log ORDER BY offset DESC")
        try:
            decoded = 0
            while decoded < TAIL_DECODED_BYTES and (row := rows.fetchone()) is not None:
                offset, payload = row
                decoded += len(payload)
                try:
                    decode_sequence(payload)
                except Exception as exc:
                    raise StoreCorrupt(
                        f"{self.path} is damaged (entry {offset} cannot be decoded: {exc});"
                        f" {LOG_REMEDY}"
                    ) from exc
        finally:
            rows.close()

    def _build_keys(self) -> None:
        """Fill ``log_keys`` from the control-plane entries of a log written before keys were
        kept (once; under the write lock, so concurrent openers agree)."""
        conn = self._writer
        built = "SELECT 1 FROM log_meta WHERE name = 'keys'"
        if conn.execute(built).fetchone() is not None:
            return  # the usual case: no write lock taken at open
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute(built).fetchone() is None:
                rows = conn.execute(
                    "SELECT offset, payload FROM event_log WHERE queue = '' AND job_set = ''"
                    " ORDER BY offset"
                )
                for offset, payload in rows.fetchall():
                    _apply_keys(conn, offset, decode_sequence(payload))
                conn.execute("INSERT INTO log_meta (name, value) VALUES ('keys', '1')")
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise

    def append(
        self, sequences: Sequence[EventSequence], expect: Sequence[Expect] = ()
    ) -> list[LogEntry]:
        if not sequences:
            return []
        encoded = [encode_sequence(s) for s in sequences]
        with self._write_lock, translated(self.path, LOG_REMEDY):
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                for wanted in expect:
                    actual = _key_state(conn, wanted.key)
                    if not wanted.holds(actual):
                        raise PreconditionFailed(wanted, actual)
                (head,) = conn.execute(_HEAD).fetchone()
                rows = [
                    (head + 1 + i, s.queue, s.job_set, s.created, data)
                    for i, (s, data) in enumerate(zip(sequences, encoded, strict=True))
                ]
                conn.executemany(
                    "INSERT INTO event_log (offset, queue, job_set, created, payload)"
                    " VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                for row, sequence in zip(rows, sequences, strict=True):
                    _apply_keys(conn, row[0], sequence)
                conn.execute("COMMIT")
            except BaseException:
                rollback(conn)
                raise
        self._signal.fire()
        return [LogEntry(offset=row[0], sequence=s) for row, s in zip(rows, sequences, strict=True)]

    def read(self, after: int, limit: int) -> list[LogEntry]:
        check_limits(after, limit)
        with translated(self.path, LOG_REMEDY):
            rows = self._reader().execute(
                "SELECT offset, payload FROM event_log WHERE offset > ? ORDER BY offset LIMIT ?",
                (after, limit),
            )
            return [LogEntry(offset=o, sequence=decode_sequence(p)) for o, p in rows]

    def read_job_set(self, queue: str, job_set: str, after: int, limit: int) -> list[LogEntry]:
        check_limits(after, limit)
        with translated(self.path, LOG_REMEDY):
            rows = self._reader().execute(
                "SELECT offset, payload FROM event_log WHERE queue = ? AND job_set = ?"
                " AND offset > ? ORDER BY offset LIMIT ?",
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

    def key_state(self, key: str) -> KeyState:
        with translated(self.path, LOG_REMEDY):
            return _key_state(self._reader(), key)

    def head(self) -> int:
        with translated(self.path, LOG_REMEDY):
            (head,) = self._reader().execute(_HEAD).fetchone()
        return int(head)

    def prune(self, queue: str, job_set: str, up_to: int, limit: int) -> int:
        with self._write_lock, translated(self.path, LOG_REMEDY):
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                # The head is remembered first, so a pruned newest offset is never reused.
                conn.execute(
                    "INSERT INTO log_meta (name, value) SELECT 'head', MAX(offset) FROM event_log"
                    " WHERE offset IS NOT NULL ON CONFLICT (name) DO UPDATE"
                    " SET value = MAX(CAST(value AS INTEGER), excluded.value)"
                )
                deleted = conn.execute(
                    "DELETE FROM event_log WHERE offset IN (SELECT offset FROM event_log"
                    " WHERE queue = ? AND job_set = ? AND offset <= ? ORDER BY offset LIMIT ?)",
                    (queue, job_set, up_to, limit),
                ).rowcount
                conn.execute("COMMIT")
            except BaseException:
                rollback(conn)
                raise
        return int(deleted)

    def drop_keys(self, keys: Sequence[str]) -> None:
        with self._write_lock, translated(self.path, LOG_REMEDY):
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("DELETE FROM log_keys WHERE key = ?", [(k,) for k in keys])
                conn.execute("COMMIT")
            except BaseException:
                rollback(conn)
                raise

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._write_lock:
            self._writer.close()


def _key_state(conn: sqlite3.Connection, key: str) -> KeyState:
    row = conn.execute("SELECT present, version FROM log_keys WHERE key = ?", (key,)).fetchone()
    return NEVER_TOUCHED if row is None else KeyState(exists=bool(row[0]), version=int(row[1]))


def _apply_keys(conn: sqlite3.Connection, offset: int, sequence: EventSequence) -> None:
    for key, effect in key_effects(sequence).items():
        if effect is None:
            conn.execute(
                "INSERT INTO log_keys (key, present, version) VALUES (?, 0, ?)"
                " ON CONFLICT (key) DO UPDATE SET version = excluded.version",
                (key, offset),
            )
        else:
            conn.execute(
                "INSERT INTO log_keys (key, present, version) VALUES (?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET present = excluded.present, version = excluded.version",
                (key, int(effect), offset),
            )

"""What SQLite's failures mean for whoever called the store, said once for the log and views.

A full disk (``SQLITE_FULL``) rolls the transaction back inside SQLite and must not be mistaken
for a bug: it becomes :class:`~armada.eventlog.base.StoreFull`, which the API reports as
RESOURCE_EXHAUSTED, and the next write simply tries again. A damaged file (``SQLITE_CORRUPT``,
``SQLITE_NOTADB``) becomes :class:`~armada.eventlog.base.StoreCorrupt`, naming the file and
what to do about it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from armada.eventlog.base import StoreCorrupt, StoreFull

# SQLite's primary result codes (the low byte of an extended code).
SQLITE_CORRUPT = sqlite3.SQLITE_CORRUPT
SQLITE_FULL = sqlite3.SQLITE_FULL
SQLITE_NOTADB = sqlite3.SQLITE_NOTADB
# The shared-memory index of the WAL could not grow: SQLite's docs say usually a full disk.
SQLITE_IOERR_SHMSIZE = sqlite3.SQLITE_IOERR_SHMSIZE

DISK_FULL = "the store's disk is full"


def primary_code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def is_corruption(exc: sqlite3.Error) -> bool:
    return primary_code(exc) in (SQLITE_CORRUPT, SQLITE_NOTADB)


@contextmanager
def translated(path: str, remedy: str) -> Iterator[None]:
    """Turn a full disk or a damaged file into the store's own errors; ``remedy`` says how to
    recover from damage to this file."""
    try:
        yield
    except sqlite3.Error as exc:
        code = primary_code(exc)
        extended = int(getattr(exc, "sqlite_errorcode", 0) or 0)
        if code == SQLITE_FULL or extended == SQLITE_IOERR_SHMSIZE:
            raise StoreFull(f"{DISK_FULL} ({path}: {exc}); free space and retry") from exc
        if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
            raise StoreCorrupt(f"{path} is damaged ({exc}); {remedy}") from exc
        raise


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already done so (it has after
    SQLITE_FULL, and a second ROLLBACK fails with "no transaction is active")."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


# Files up to this size get a full PRAGMA quick_check at open (about a second per few hundred
# MiB); larger ones only have their newest pages read (see SqliteEventLog's tail check).
QUICK_CHECK_MAX_BYTES = 64 * 2**20


def check_integrity(conn: sqlite3.Connection, path: str, remedy: str) -> None:
    """Raise StoreCorrupt (naming ``path``) if a quick check of a small enough file fails."""
    try:
        size = Path(path).stat().st_size
    except OSError:
        return
    if size > QUICK_CHECK_MAX_BYTES:
        return
    with translated(path, remedy):
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise StoreCorrupt(f"{path} is damaged ({'; '.join(problems)}); {remedy}")

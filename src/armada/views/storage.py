"""Opening the storage a process works on: the event log, the query store and its updater."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from armada.config.server import StorageSettings
from armada.domain.events import EventSequence, LogEntry
from armada.eventlog import EventLog, MemoryEventLog, SqliteEventLog
from armada.eventlog.base import Expect, StoreBusy, StoreFull, StoreUnavailable
from armada.views.sqlite_views import VIEW_TABLES, remove_views_file
from armada.views.store import QueryStore
from armada.views.updater import ViewUpdater

logger = logging.getLogger(__name__)


@dataclass
class Storage:
    """The log (the truth) and the query store (a view of it), opened together."""

    log: EventLog
    store: QueryStore
    updater: ViewUpdater

    def append(
        self, sequences: list[EventSequence], expect: Sequence[Expect] = ()
    ) -> list[LogEntry]:
        """Append durably (if every precondition in ``expect`` holds, see
        :meth:`EventLog.append`), then bring the views up to date so the caller reads its
        writes."""
        entries = self.log.append(sequences, expect)
        self.catch_up(entries)
        return entries

    def catch_up(self, appended: Sequence[LogEntry] = ()) -> None:
        """Bring the views up to date; on a full disk, a full pool or a database out of reach
        they stay behind (and are read as they are) until a later call succeeds: what was
        appended is stored, and its caller is answered as such."""
        try:
            self.updater.catch_up(appended)
        except (StoreFull, StoreBusy, StoreUnavailable) as exc:
            logger.warning("views: %s", exc)

    def close(self) -> None:
        self.store.close()
        self.log.close()


def open_storage(settings: StorageSettings, *, catch_up: bool = True) -> Storage:
    """Open the log and the views; bring the views up to date unless told not to (the
    caller then does it before anything reads them)."""
    log: EventLog
    if settings.postgres:
        from armada.eventlog.postgres import PostgresEventLog
        from armada.views.postgres import PostgresViews

        timeout = settings.pool_timeout.total_seconds()
        pg_log = PostgresEventLog(settings.store, settings.pool_size, timeout)
        try:
            store = QueryStore(backend=PostgresViews(pg_log.pool, settings.store))
        except BaseException:
            pg_log.close()
            raise
        log = pg_log
    elif settings.event_log == "memory":
        log = MemoryEventLog()
        store = QueryStore(None)
    else:
        log = SqliteEventLog(settings.database_path, synchronous=settings.sqlite_synchronous)
        drop_old_views(settings.database_path)
        store = QueryStore(settings.views_path)
    storage = Storage(log=log, store=store, updater=ViewUpdater(log, store))
    if catch_up:
        storage.catch_up()
    return storage


def drop_old_views(log_path: Path) -> None:
    """Drop the view tables that stores before ``views.db`` kept in the log's file."""
    conn = sqlite3.connect(log_path, isolation_level=None, timeout=30.0)
    try:
        if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'jobs'").fetchone() is None:
            return
        conn.execute("BEGIN IMMEDIATE")
        for table in (*VIEW_TABLES, "view_meta"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute("COMMIT")
    finally:
        conn.close()


def rebuild_views(settings: StorageSettings) -> tuple[int, int]:
    """Throw the views away and replay the log into new ones; return (log entries, jobs)."""
    if not settings.postgres:
        remove_views_file(settings.views_path)
    storage = open_storage(settings)
    try:
        if settings.postgres:
            storage.store.reset()
            storage.catch_up()
        return storage.store.checkpoint(), len(storage.store.all_jobs())
    finally:
        storage.close()


def migrate_store(url: str) -> list[tuple[str, int, int]]:
    """Bring a PostgreSQL store's schema to this version's: (part, before, after) per part."""
    import psycopg

    from armada.eventlog.postgres import translated
    from armada.eventlog.postgres_schema import LOG_STEPS, migrate
    from armada.views.postgres import VIEW_STEPS

    with translated(), psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        return [
            (part, *migrate(conn, part, steps))
            for part, steps in (("log", LOG_STEPS), ("views", VIEW_STEPS))
        ]

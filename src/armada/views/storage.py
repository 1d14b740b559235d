"""Opening the storage a process works on: the event log, the query store and its updater."""

from __future__ import annotations

from dataclasses import dataclass

from armada.config.server import StorageSettings
from armada.domain.events import EventSequence, LogEntry
from armada.eventlog import EventLog, MemoryEventLog, SqliteEventLog
from armada.views.store import QueryStore
from armada.views.updater import ViewUpdater


@dataclass
class Storage:
    """The log (the truth) and the query store (a view of it), opened together."""

    log: EventLog
    store: QueryStore
    updater: ViewUpdater

    def append(self, sequences: list[EventSequence]) -> list[LogEntry]:
        """Append durably, then bring the views up to date so the caller reads its writes."""
        entries = self.log.append(sequences)
        self.updater.catch_up(entries)
        return entries

    def close(self) -> None:
        self.store.close()
        self.log.close()


def open_storage(settings: StorageSettings, *, catch_up: bool = True) -> Storage:
    """Open the log and the views; bring the views up to date unless told not to (the
    caller then does it before anything reads them)."""
    log: EventLog
    if settings.event_log == "memory":
        log = MemoryEventLog()
        store = QueryStore(None)
    else:
        path = settings.database_path
        log = SqliteEventLog(path, synchronous=settings.sqlite_synchronous)
        store = QueryStore(path)
    updater = ViewUpdater(log, store)
    if catch_up:
        updater.catch_up()
    return Storage(log=log, store=store, updater=updater)

"""The event log: the ordered, durable, append-only source of truth.

One interface (:class:`~armada.eventlog.base.EventLog`), several backends: SQLite (the
embedded default), in-memory (tests) and, later, PostgreSQL. The contract tests in
``tests/eventlog/test_contract.py`` run against every backend.
"""

from armada.eventlog.base import EventLog, EventLogError
from armada.eventlog.memory import MemoryEventLog
from armada.eventlog.sqlite import SqliteEventLog

__all__ = ["EventLog", "EventLogError", "MemoryEventLog", "SqliteEventLog", "open_event_log"]


def open_event_log(url: str) -> EventLog:
    """Open a log by URL: ``memory://`` or ``sqlite:///path/to/armada.db``."""
    if url == "memory://":
        return MemoryEventLog()
    if url.startswith("sqlite:///"):
        return SqliteEventLog(url.removeprefix("sqlite:///"))
    raise EventLogError(f"unknown event log URL {url!r}: use memory:// or sqlite:///PATH")

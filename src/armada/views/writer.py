"""Applying this process's appends of job events to the views off the appender's path.

A submission is acknowledged once its log entry is durable; writing its jobs into the views
(a row per job, with its indexes: on PostgreSQL the largest part of a submission's cost) is
done by one writer thread of the process while the caller is answered and the next request is
read. Reads of the jobs through this process's query store first wait until the views hold
everything this process has appended (read-your-writes, as when the appender applied them
itself); reads of queues, retry policies and executor settings never wait, since appends of
those are applied at once by the appender (:meth:`Storage.append
<armada.views.storage.Storage.append>`). Other processes see the jobs when the writer
commits, a moment later (they never saw them before the appender's views commit either).

At most :data:`MAX_WAITING` batches wait for the writer: an appender beyond that waits for
room, so the views never fall far behind and memory stays bounded. Batches waiting together
are applied in one transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from armada.domain.events import LogEntry

log = logging.getLogger(__name__)

MAX_WAITING = 4


class ViewWriter:
    """Hands batches of appended entries to a writer thread (started when first needed) that
    applies them with ``catch_up`` (which applies everything up to the entries it is given,
    reading from the log what it is not given)."""

    def __init__(self, catch_up: Callable[[Sequence[LogEntry]], None]) -> None:
        self._catch_up = catch_up
        self._condition = threading.Condition()
        self._waiting: list[list[LogEntry]] = []
        self._handed = 0  # the newest offset handed over
        self._settled = 0  # the newest offset the writer is done with
        self._closed = False
        self._thread: threading.Thread | None = None

    def hand_over(self, entries: list[LogEntry]) -> bool:
        """Have the writer apply ``entries``; False if it is closed (the caller applies them)."""
        if not entries:  # nothing was appended
            return True
        with self._condition:
            while len(self._waiting) >= MAX_WAITING and not self._closed:
                self._condition.wait()
            if self._closed:
                return False
            self._waiting.append(entries)
            self._handed = max(self._handed, entries[-1].offset)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="views-writer", daemon=True)
                self._thread.start()
            self._condition.notify_all()
        return True

    def wait(self) -> None:
        """Return once every entry handed over so far is in the views (or its writing failed,
        and was logged: the views then stay behind until the next catch-up, as they would
        had the appender failed to apply them)."""
        with self._condition:
            target = self._handed
            while self._settled < target:
                self._condition.wait()

    def close(self) -> None:
        """Apply what was handed over, then stop the writer."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._waiting and not self._closed:
                    self._condition.wait()
                if not self._waiting:
                    return
                batches, self._waiting = self._waiting, []
                self._condition.notify_all()  # room for appenders waiting for it
            newest = max(batch[-1].offset for batch in batches)
            try:
                batches.sort(key=lambda batch: batch[0].offset)
                self._catch_up(_together(batches))
            except Exception:
                log.exception("views: applying appended entries failed; the follower retries")
            finally:
                with self._condition:
                    self._settled = max(self._settled, newest)
                    self._condition.notify_all()


def _together(batches: list[list[LogEntry]]) -> list[LogEntry]:
    """The batches as one run of entries if their offsets follow on (appended one after the
    other by this process); otherwise the newest batch alone (the catch-up reads the entries
    of other processes between them from the log)."""
    entries = batches[0]
    for batch in batches[1:]:
        if batch[0].offset != entries[-1].offset + 1:
            return batches[-1]
        entries = entries + batch
    return entries

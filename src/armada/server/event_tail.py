"""Watching a job set: one shared read of the log however many watch it, and bounded memory.

Every job set with live watchers has one :class:`JobSetTail`: a task that reads the job set's
new log entries as they are appended, converts and serialises them once
(:mod:`armada.server.event_pages`), and keeps the recent ones in a ring bounded in bytes. A
watcher at the tail takes its batches from the ring, so a thousand watchers cost one read
and one conversion of each event.

A watcher that is behind the ring -- one that starts from an old message, or a slow client
whose writes wait on gRPC flow control while the ring moves on -- reads the log by itself, a
bounded page at a time from its own position (the log is the buffer), and takes from the ring
again once it has caught up with it. A watcher therefore never holds more than one page of its
own, whether its client reads or not. The tail goes, and its ring with it, when its last
watcher leaves.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from armada.eventlog.base import EventLog
from armada.server.event_pages import (
    COMPLETE,
    Batch,
    Converted,
    PageReader,
    Position,
    batches,
    collect,
    first_after,
)
from armada.server.memory import MemoryReleaser

log = logging.getLogger(__name__)

TAKES_KEPT = 16


@dataclass(frozen=True)
class TailSettings:
    ring_bytes: int
    read_batch: int
    poll_interval: float
    # Least time between two reads of new entries (so that watchers batch what came between).
    interval: float = 0.0


class JobSetTail:
    """The recent converted events of one job set, shared by its watchers."""

    def __init__(self, log: EventLog, queue: str, job_set: str, settings: TailSettings) -> None:
        self._log = log
        self._settings = settings
        self._reader = PageReader(log, queue, job_set, settings.read_batch)
        self.key = (queue, job_set)
        self.watchers = 0
        self.closed = False
        self.error: Exception | None = None
        # The ring, in offset order: every event of the job set with offset in (base, after].
        # base is None until the first read.
        self._entries: deque[Converted] = deque()
        self.bytes = 0
        self.base: int | None = None
        self.after = 0
        # Batches taken since the ring last changed, by (position, limits).
        self._taken: dict[tuple[Position, int, int], tuple[Batch | None, Position]] = {}
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._follow(), name=f"tail {queue}/{job_set}")

    def covers(self, pos: Position) -> bool:
        """Whether everything after ``pos`` is in the ring or yet to come into it."""
        return self.base is not None and pos >= (self.base, COMPLETE)

    def take(
        self, pos: Position, max_messages: int, max_bytes: int
    ) -> tuple[Batch | None, Position]:
        """The ring's messages after ``pos`` (which it covers), bounded; and the new position.
        Watchers in step (the same position and limits) get the same batch."""
        key = (pos, max_messages, max_bytes)
        taken = self._taken.get(key)
        if taken is None:
            start = first_after(self._entries, pos)
            messages, after = collect(self._entries, start, pos, max_messages, max_bytes)
            taken = (Batch(messages) if messages else None, after)
            if len(self._taken) >= TAKES_KEPT:
                self._taken.clear()
            self._taken[key] = taken
        return taken

    async def changed(self, timeout: float | None = None) -> None:
        """Wait for the ring to change (new entries, an error, the tail closing)."""
        if timeout is None:
            await self._changed.wait()
            return
        try:
            async with asyncio.timeout(timeout):
                await self._changed.wait()
        except TimeoutError:
            pass

    def close(self) -> None:
        self.closed = True
        self._entries.clear()
        self._taken.clear()
        self.bytes = 0
        self._fire()

    def _fire(self) -> None:
        self._changed.set()
        self._changed.clear()

    def _add(self, entries: list[Converted]) -> None:
        self._taken.clear()
        for entry in entries:
            self._entries.append(entry)
            self.bytes += entry.size
        # Keep the newest entry whatever its size; drop the oldest beyond the budget.
        while self.bytes > self._settings.ring_bytes and len(self._entries) > 1:
            dropped = self._entries.popleft()
            self.bytes -= dropped.size
            self.base = dropped.offset

    async def _follow(self) -> None:
        """Read the job set's new entries into the ring until the tail is closed."""
        signal = self._log.signal
        try:
            self.after = await asyncio.to_thread(self._log.head)
            self.base = self.after
            self._fire()
            while not self.closed:
                seen = signal.generation
                page = await asyncio.to_thread(self._reader.read, (self.after, COMPLETE))
                if self.closed:
                    return
                self._add(page.entries)
                self.after = page.reached[0]
                if page.entries:
                    self._fire()
                if not page.at_end:
                    continue  # behind the log: read on at once, a page at a time
                if page.entries:
                    # Caught up: let what comes next gather into one batch for the watchers.
                    await asyncio.sleep(self._settings.interval)
                await signal.wait_async(self._settings.poll_interval, seen)
        except Exception as exc:  # the watchers end with it; the next ones start afresh
            log.warning("event stream of %s/%s: reading the log failed: %s", *self.key, exc)
            self.error = exc
            self._fire()


class Tails:
    """The tails of the job sets being watched in this server."""

    def __init__(self, log: EventLog, settings: TailSettings) -> None:
        self.log = log
        self.settings = settings
        self._tails: dict[tuple[str, str], JobSetTail] = {}
        self._memory = MemoryReleaser()

    def __len__(self) -> int:
        return len(self._tails)

    def get(self, queue: str, job_set: str) -> JobSetTail | None:
        """The job set's tail, if it has watchers."""
        return self._tails.get((queue, job_set))

    def join(self, queue: str, job_set: str) -> JobSetTail:
        tail = self._tails.get((queue, job_set))
        if tail is None or tail.error is not None:
            tail = JobSetTail(self.log, queue, job_set, self.settings)
            self._tails[tail.key] = tail
        tail.watchers += 1
        return tail

    def leave(self, tail: JobSetTail) -> None:
        tail.watchers -= 1
        if tail.watchers == 0:
            tail.close()
            if self._tails.get(tail.key) is tail:
                del self._tails[tail.key]
            self._memory.release_soon()


@dataclass(frozen=True)
class StreamRequest:
    """What one stream sends: a job set's messages after ``start``, in batches of at most
    ``max_messages`` and about ``max_bytes``."""

    queue: str
    job_set: str
    start: Position
    max_messages: int
    max_bytes: int


async def watch(tails: Tails, request: StreamRequest) -> AsyncIterator[Batch]:
    """Framed messages of the job set after the start, then its new ones as they come; ends
    only with an error (or when the caller stops iterating)."""
    queue, job_set, pos = request.queue, request.job_set, request.start
    limits = (request.max_messages, request.max_bytes)
    tail = tails.join(queue, job_set)
    reader = PageReader(tails.log, queue, job_set, tails.settings.read_batch)
    try:
        while True:
            if tail.error is not None:
                raise tail.error
            if tail.covers(pos):
                taken, pos = tail.take(pos, *limits)
                if taken is not None:
                    yield taken
                else:
                    await tail.changed()
                continue
            page = await asyncio.to_thread(reader.read, pos)
            for batch, _ in batches(page.entries, pos, *limits):
                yield batch
            pos = max(pos, page.reached)
            if page.at_end and not tail.covers(pos):
                await tail.changed(tails.settings.poll_interval)
    finally:
        tails.leave(tail)


async def replay(
    log: EventLog, request: StreamRequest, stop_at: int, read_batch: int
) -> AsyncIterator[Batch]:
    """Framed messages of the job set after the start up to offset ``stop_at``, then the end."""
    reader = PageReader(log, request.queue, request.job_set, read_batch)
    pos = request.start
    while True:
        page = await asyncio.to_thread(reader.read, pos, stop_at)
        for batch, _ in batches(page.entries, pos, request.max_messages, request.max_bytes):
            yield batch
        pos = max(pos, page.reached)
        if page.at_end:
            return

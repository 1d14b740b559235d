"""The event log interface, and the wake-up signal shared by its backends."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Protocol

from armada.domain.events import EventSequence, LogEntry


class EventLogError(Exception):
    """The log could not do what was asked (bad arguments, storage failure)."""


class EventLog(Protocol):
    """An append-only, totally ordered, durable log of event sequences.

    Offsets are positive integers, strictly increasing in append order, never reused. When
    :meth:`append` returns, the sequences are durable and visible to every reader.
    """

    def append(self, sequences: Sequence[EventSequence]) -> list[LogEntry]:
        """Append all sequences atomically (all or none); return them with their offsets."""
        ...

    def read(self, after: int, limit: int) -> list[LogEntry]:
        """Entries with offset > ``after``, oldest first, at most ``limit`` of them."""
        ...

    def read_job_set(self, queue: str, job_set: str, after: int, limit: int) -> list[LogEntry]:
        """Entries of one job set with offset > ``after``, oldest first."""
        ...

    def job_set_exists(self, queue: str, job_set: str) -> bool:
        """Whether any sequence was ever appended for this job set."""
        ...

    def head(self) -> int:
        """The offset of the newest entry (0 when the log is empty)."""
        ...

    @property
    def signal(self) -> AppendSignal:
        """Fires after every append made through this object."""
        ...

    def close(self) -> None: ...


class AppendSignal:
    """Wakes waiters (threads or asyncio tasks in any loop) when the log grows.

    Backends shared between processes cannot see other processes' appends through it, so
    waiters always pass a timeout and re-check :meth:`EventLog.head` when it expires.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._condition = threading.Condition(self._lock)
        self._generation = 0
        self._futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def fire(self) -> None:
        with self._lock:
            self._generation += 1
            futures, self._futures = self._futures, []
            self._condition.notify_all()
        for loop, future in futures:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_resolve, future)

    def wait(self, timeout: float) -> None:
        """Block the calling thread until the next append or ``timeout`` seconds."""
        with self._lock:
            generation = self._generation
            self._condition.wait_for(lambda: self._generation != generation, timeout)

    @property
    def generation(self) -> int:
        """How many times the signal fired: read it before reading the log and pass it to
        :meth:`wait_async`, so that an append in between is not slept through."""
        with self._lock:
            return self._generation

    async def wait_async(self, timeout: float, seen: int | None = None) -> None:
        """Wait in asyncio until the next append or ``timeout`` seconds; at once if the
        signal fired since generation ``seen``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if seen is not None and seen != self._generation:
                return
            self._futures.append((loop, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            pass
        finally:  # timed out or cancelled: forget the future
            with self._lock:
                if (loop, future) in self._futures:
                    self._futures.remove((loop, future))


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def check_limits(after: int, limit: int) -> None:
    if after < 0:
        raise EventLogError(f"offset must be >= 0, got {after}")
    if limit <= 0:
        raise EventLogError(f"limit must be > 0, got {limit}")

"""The event log interface, and the wake-up signal shared by its backends."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from armada.domain.events import EventSequence, LogEntry


class EventLogError(Exception):
    """The log could not do what was asked (bad arguments, storage failure)."""


class StoreFull(EventLogError):
    """The store's disk (or its size limit) is full: nothing was written; reads still work,
    and appends work again once space is freed."""


class StoreUnavailable(EventLogError):
    """The store cannot be reached (a database server restarting): nothing was written, or,
    if the connection broke while committing, the caller cannot know; it retries (with a
    client id, a repeated submission stores its jobs once)."""


class StoreBusy(EventLogError):
    """Every connection to the store is in use and none came free in time: nothing was
    written; the caller retries later (the API's RESOURCE_EXHAUSTED)."""


class StoreCorrupt(EventLogError):
    """A store file is damaged; the message names the file and how to restore it."""


@dataclass(frozen=True)
class KeyState:
    """What the log knows of one key (see :mod:`armada.eventlog.keys`): whether its object
    exists, and the offset of the last entry that touched it (0: never touched)."""

    exists: bool
    version: int


NEVER_TOUCHED = KeyState(exists=False, version=0)


@dataclass(frozen=True)
class Expect:
    """A precondition on one key, checked inside the append's transaction: the append happens
    only if every one holds, so that of concurrent appenders (threads or processes) expecting
    the same state exactly one succeeds. ``None`` means "any"."""

    key: str
    exists: bool | None = None
    version: int | None = None

    def holds(self, state: KeyState) -> bool:
        return (self.exists is None or state.exists == self.exists) and (
            self.version is None or state.version == self.version
        )


class PreconditionFailed(EventLogError):
    """An :class:`Expect` did not hold; nothing was appended."""

    def __init__(self, expect: Expect, actual: KeyState) -> None:
        super().__init__(f"precondition on {expect.key!r} failed: expected {expect}, got {actual}")
        self.expect = expect
        self.actual = actual


class EventLog(Protocol):
    """An append-only, totally ordered, durable log of event sequences.

    Offsets are positive integers, strictly increasing in append order, never reused. When
    :meth:`append` returns, the sequences are durable and visible to every reader.
    """

    def append(
        self, sequences: Sequence[EventSequence], expect: Sequence[Expect] = ()
    ) -> list[LogEntry]:
        """Append all sequences atomically (all or none); return them with their offsets.

        Every precondition in ``expect`` is checked in the same transaction as the append
        (SQLite: under ``BEGIN IMMEDIATE``; PostgreSQL would lock the keys' rows with
        ``SELECT ... FOR UPDATE`` or run serialisable); if one fails nothing is appended and
        :class:`PreconditionFailed` is raised. The keys the sequences touch
        (:func:`armada.eventlog.keys.key_effects`) are updated in that transaction too.
        Raises :class:`StoreFull` when the store has no room.
        """
        ...

    def key_state(self, key: str) -> KeyState:
        """The key's state as of the newest entry."""
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

    def prune(self, queue: str, job_set: str, up_to: int, limit: int) -> int:
        """Delete up to ``limit`` of the oldest entries of one job set with offset <= ``up_to``
        (retention: the job set's jobs are finished and expired); return how many. Offsets
        are never reused (the head stays where it was); readers see the gaps."""
        ...

    def drop_keys(self, keys: Sequence[str]) -> None:
        """Forget keys (the client ids of expired jobs): they read as never touched again."""
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

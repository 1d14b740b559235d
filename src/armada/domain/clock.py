"""Time and identifiers, injected so that tests and the simulator run on virtual time.

Nothing in the domain or the scheduler core reads the wall clock or makes ids itself: a
:class:`Clock` and an :class:`IdSource` are passed in by the process that owns them.
"""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Protocol

from ulid import ULID


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to: for tests and the simulator."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, when: float) -> None:
        self._now = when


class IdSource(Protocol):
    def job_id(self) -> str:
        """A new job id: sortable by creation time, unique across the system."""
        ...

    def run_id(self) -> str:
        """A new run id."""
        ...


class RandomIds:
    """Job ids are lower-case ULIDs (as Armada's are); run ids are UUIDs (as Armada's are)."""

    def job_id(self) -> str:
        return str(ULID()).lower()

    def run_id(self) -> str:
        return str(uuid.uuid4())


class SequentialIds:
    """Predictable ids for tests: ``job-000001``, ``run-000001``..."""

    def __init__(self, prefix: str = "") -> None:
        self._jobs = itertools.count(1)
        self._runs = itertools.count(1)
        self._prefix = prefix

    def job_id(self) -> str:
        return f"{self._prefix}job-{next(self._jobs):06d}"

    def run_id(self) -> str:
        return f"{self._prefix}run-{next(self._runs):06d}"

"""Time and identifiers, injected so that tests and the simulator run on virtual time.

Nothing in the domain or the scheduler core reads the wall clock or makes ids itself: a
:class:`Clock` and an :class:`IdSource` are passed in by the process that owns them.
"""

from __future__ import annotations

import base64
import itertools
import os
import time
import uuid
from typing import Protocol

_RFC4648 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = b"0123456789abcdefghjkmnpqrstvwxyz"
_TO_CROCKFORD = bytes.maketrans(_RFC4648, _CROCKFORD)


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

    def job_ids(self, count: int) -> list[str]:
        """``count`` new job ids at once (cheaper per id for big submissions)."""
        ...

    def run_id(self) -> str:
        """A new run id."""
        ...


def ulids(milliseconds: int, randomness: bytes) -> list[str]:
    """Lower-case ULIDs (48-bit time, 80 random bits, Crockford base32) for each 10 bytes of
    ``randomness``. A ULID's 26 characters hold 130 bits, the first two zero: shifting the
    128-bit value left by 6 makes it the first 130 bits of 17 bytes, which RFC 4648 base32
    encodes in C; the alphabet is then translated to Crockford's."""
    stamp = milliseconds << 80
    return [
        base64.b32encode(
            ((stamp | int.from_bytes(randomness[i : i + 10], "big")) << 6).to_bytes(17, "big")
        )[:26]
        .translate(_TO_CROCKFORD)
        .decode()
        for i in range(0, len(randomness), 10)
    ]


class RandomIds:
    """Job ids are lower-case ULIDs (as Armada's are); run ids are UUIDs (as Armada's are)."""

    def job_id(self) -> str:
        return self.job_ids(1)[0]

    def job_ids(self, count: int) -> list[str]:
        return ulids(int(time.time() * 1000), os.urandom(10 * count))

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

    def job_ids(self, count: int) -> list[str]:
        return [self.job_id() for _ in range(count)]

    def run_id(self) -> str:
        return f"{self._prefix}run-{next(self._runs):06d}"

"""Time and identifiers, injected so that tests and the simulator run on virtual time.

Nothing in the domain or the scheduler core reads the wall clock or makes ids itself: a
:class:`Clock` and an :class:`IdSource` are passed in by the process that owns them.
"""

from __future__ import annotations

import base64
import itertools
import os
import threading
import time
import uuid
from typing import Protocol

_RFC4648 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = b"0123456789abcdefghjkmnpqrstvwxyz"
_TO_CROCKFORD = bytes.maketrans(_RFC4648, _CROCKFORD)
_LOW_TEN_BITS = [chr(_CROCKFORD[n >> 5]) + chr(_CROCKFORD[n & 31]) for n in range(1024)]


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


def encode_ulid(value: int) -> str:
    """A 128-bit ULID value as 26 lower-case Crockford base32 characters. The characters hold
    130 bits, the first two zero: shifted left by 6, the value is the first 130 bits of 17
    bytes, which RFC 4648 base32 encodes in C; the alphabet is then translated to Crockford's."""
    return base64.b32encode((value << 6).to_bytes(17, "big"))[:26].translate(_TO_CROCKFORD).decode()


def encode_ulids(first: int, count: int) -> list[str]:
    """``count`` consecutive ULIDs from ``first``, as :func:`encode_ulid` makes each: the last
    two characters are the value's low 10 bits, so each run of values sharing the rest shares
    its first 24 characters, encoded once."""
    ids: list[str] = []
    value, end = first, first + count
    while value < end:
        run_end = min(end, (value | 1023) + 1)
        prefix = encode_ulid(value)[:24]
        ids.extend([prefix + _LOW_TEN_BITS[v & 1023] for v in range(value, run_end)])
        value = run_end
    return ids


def ulids(milliseconds: int, randomness: bytes) -> list[str]:
    """One ULID (48-bit time, 80 random bits) for each 10 bytes of ``randomness``."""
    stamp = milliseconds << 80
    return [
        encode_ulid(stamp | int.from_bytes(randomness[i : i + 10], "big"))
        for i in range(0, len(randomness), 10)
    ]


class RandomIds:
    """Job ids are lower-case ULIDs (as Armada's are); run ids are UUIDs (as Armada's are).

    Job ids are monotonic, as the ULID spec allows: within one millisecond each id is the
    previous one plus one, so ids made by one process sort in the order they were made (a
    batch's jobs list, cancel and replay in submission order).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def job_id(self) -> str:
        return self.job_ids(1)[0]

    def job_ids(self, count: int) -> list[str]:
        with self._lock:
            stamp = int(time.time() * 1000) << 80
            if stamp > self._last:
                first = stamp | int.from_bytes(os.urandom(10), "big") >> 1  # room to count up
            else:
                first = self._last + 1
            self._last = first + count - 1
        return encode_ulids(first, count)

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

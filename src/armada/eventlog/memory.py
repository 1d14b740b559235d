"""An in-memory event log for tests: the same contract as the durable ones, no durability."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence

from armada.domain.events import EventSequence, LogEntry
from armada.eventlog.base import (
    NEVER_TOUCHED,
    AppendSignal,
    Expect,
    KeyState,
    PreconditionFailed,
    check_limits,
)
from armada.eventlog.codec import decode_sequence, encode_sequence
from armada.eventlog.keys import key_effects


class MemoryEventLog:
    """Entries are kept encoded, as a durable backend would, so tests exercise the codec."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[bytes | None] = []  # None: pruned
        self._by_job_set: dict[tuple[str, str], list[int]] = {}
        self._keys: dict[str, KeyState] = {}
        self._signal = AppendSignal()

    @property
    def signal(self) -> AppendSignal:
        return self._signal

    def append(
        self, sequences: Sequence[EventSequence], expect: Sequence[Expect] = ()
    ) -> list[LogEntry]:
        encoded = [encode_sequence(s) for s in sequences]
        with self._lock:
            for wanted in expect:
                actual = self._key_state(wanted.key)
                if not wanted.holds(actual):
                    raise PreconditionFailed(wanted, actual)
            start = len(self._entries) + 1
            entries = []
            for i, (sequence, data) in enumerate(zip(sequences, encoded, strict=True)):
                offset = start + i
                self._entries.append(data)
                self._by_job_set.setdefault((sequence.queue, sequence.job_set), []).append(offset)
                entries.append(LogEntry(offset=offset, sequence=sequence))
                for key, effect in key_effects(sequence).items():
                    exists = self._key_state(key).exists if effect is None else effect
                    self._keys[key] = KeyState(exists=exists, version=offset)
        if entries:
            self._signal.fire()
        return entries

    def read(self, after: int, limit: int) -> list[LogEntry]:
        check_limits(after, limit)
        found: list[tuple[int, bytes]] = []
        with self._lock:
            for offset in range(after + 1, len(self._entries) + 1):
                data = self._entries[offset - 1]
                if data is not None:
                    found.append((offset, data))
                    if len(found) == limit:
                        break
        return [LogEntry(offset=o, sequence=decode_sequence(d)) for o, d in found]

    def prune(self, queue: str, job_set: str, up_to: int, limit: int) -> int:
        with self._lock:
            offsets = self._by_job_set.get((queue, job_set), [])
            doomed = [o for o in offsets[:limit] if o <= up_to]
            for offset in doomed:
                self._entries[offset - 1] = None
            del offsets[: len(doomed)]
            if not offsets:
                self._by_job_set.pop((queue, job_set), None)
        return len(doomed)

    def drop_keys(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._keys.pop(key, None)

    def read_job_set(self, queue: str, job_set: str, after: int, limit: int) -> list[LogEntry]:
        check_limits(after, limit)
        with self._lock:
            offsets = self._by_job_set.get((queue, job_set), [])
            start = bisect.bisect_right(offsets, after)
            wanted = offsets[start : start + limit]
            data = [self._entries[o - 1] for o in wanted]
        return [
            LogEntry(offset=o, sequence=decode_sequence(d))
            for o, d in zip(wanted, data, strict=True)
            if d is not None
        ]

    def job_set_exists(self, queue: str, job_set: str) -> bool:
        with self._lock:
            return (queue, job_set) in self._by_job_set

    def key_state(self, key: str) -> KeyState:
        with self._lock:
            return self._key_state(key)

    def _key_state(self, key: str) -> KeyState:
        return self._keys.get(key, NEVER_TOUCHED)

    def head(self) -> int:
        with self._lock:
            return len(self._entries)

    def close(self) -> None:
        pass

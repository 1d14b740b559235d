"""A job set's events as pages of pre-serialised stream messages, read from the log.

The event streams send what this module makes: each log entry's external events converted
once and serialised once, each message framed as field 1 of an ``EventBatch`` (tag, length,
``EventStreamMessage``), so that a batch is the concatenation of its messages and a single
``api.Event`` message is a frame minus its header. Nothing is converted again per watcher.

A page holds a bounded number of events (about :data:`PAGE_EVENTS`; one entry may exceed it,
as a 1,000-job submission holds 2,000): a reader adapts how many log entries it asks for to
stay near that, so a watcher reading the log by itself holds at most one page.
"""

from __future__ import annotations

import bisect
import itertools
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from armada.domain.events import LogEntry
from armada.eventlog.base import EventLog
from armada.server.convert_events import stream_messages

# The index of a position that has passed the whole entry (every index is below it).
COMPLETE = sys.maxsize
# How far a stream has got: (log offset, index of the last message sent in that entry).
Position = tuple[int, int]
START: Position = (0, COMPLETE)

PAGE_EVENTS = 500
FIRST_LIMIT = 4


def position(offset: int, index: int) -> Position:
    """The position just after message ``"<offset>:<index>"`` (``(0, -1)``: the start)."""
    return (offset, index) if index >= 0 else (offset, COMPLETE)


def _header(size: int) -> bytes:
    out = bytearray(b"\n")  # field 1, length-delimited
    while size >= 0x80:
        out.append((size & 0x7F) | 0x80)
        size >>= 7
    out.append(size)
    return bytes(out)


def unframe(framed: bytes) -> bytes:
    """The serialised ``EventStreamMessage`` inside a frame."""
    start = 1
    while framed[start] & 0x80:
        start += 1
    return framed[start + 1 :]


class Batch:
    """Framed messages sent together; watchers in step share one, and so its bytes."""

    __slots__ = ("_joined", "messages")

    def __init__(self, messages: list[bytes]) -> None:
        self.messages = messages
        self._joined: bytes | None = None

    def joined(self) -> bytes:
        """The batch as a serialised ``EventBatch`` (made once)."""
        if self._joined is None:
            self._joined = b"".join(self.messages)
        return self._joined


@dataclass(slots=True)
class Converted:
    """One log entry's external events (from index ``first`` on), framed; ``ends[i]`` is the
    byte count of ``messages[: i + 1]``."""

    offset: int
    first: int
    messages: list[bytes]
    ends: list[int]

    @property
    def size(self) -> int:
        return self.ends[-1] if self.ends else 0


def convert(entry: LogEntry, after_index: int = -1) -> Converted:
    framed = []
    for message in stream_messages(entry, after_index):
        data = message.SerializeToString()
        framed.append(_header(len(data)) + data)
    return Converted(
        offset=entry.offset,
        first=after_index + 1,
        messages=framed,
        ends=list(itertools.accumulate(map(len, framed))),
    )


def collect(
    entries: Sequence[Converted], start: int, pos: Position, max_messages: int, max_bytes: int
) -> tuple[list[bytes], Position]:
    """Messages after ``pos`` from ``entries[start:]`` (sorted by offset, ``start`` the first
    with offset >= pos's), at most ``max_messages`` and about ``max_bytes`` (never none while
    some remain); and the position after them. Whole entries are taken without a loop over
    their messages: this runs for every watcher."""
    out: list[bytes] = []
    size = 0
    for i in range(start, len(entries)):
        entry = entries[i]
        begin = 0
        if entry.offset == pos[0]:
            if pos[1] == COMPLETE:
                continue
            begin = max(0, pos[1] + 1 - entry.first)
        if begin >= len(entry.messages):
            pos = (entry.offset, COMPLETE)
            continue
        room = max_messages - len(out)
        if room <= 0 or (out and size >= max_bytes):
            break
        before = entry.ends[begin - 1] if begin else 0
        # The last message that keeps the batch within max_bytes (at least one).
        fits = bisect.bisect_right(entry.ends, before + max_bytes - size, lo=begin)
        stop = min(len(entry.messages), begin + room, max(fits, begin + 1))
        out.extend(entry.messages[begin:stop])
        size += entry.ends[stop - 1] - before
        if stop == len(entry.messages):
            pos = (entry.offset, COMPLETE)
        else:
            pos = (entry.offset, entry.first + stop - 1)
            break
    return out, pos


def first_after(entries: Sequence[Converted], pos: Position, lo: int = 0) -> int:
    """The index of the first entry with offset >= pos's offset."""
    return bisect.bisect_left(entries, pos[0], lo=lo, key=lambda e: e.offset)


def batches(
    entries: Sequence[Converted], pos: Position, max_messages: int, max_bytes: int
) -> Iterator[tuple[Batch, Position]]:
    """Every message of ``entries`` after ``pos``, in batches."""
    while True:
        batch, pos = collect(entries, first_after(entries, pos), pos, max_messages, max_bytes)
        if not batch:
            return
        yield Batch(batch), pos


@dataclass(slots=True)
class Page:
    entries: list[Converted]
    # Everything of the job set up to here is in this page or before it.
    reached: Position
    # Whether the read got to the end of the log (or to the stream's stop).
    at_end: bool


class PageReader:
    """Reads one job set's log entries after a position, a page at a time."""

    def __init__(self, log: EventLog, queue: str, job_set: str, max_entries: int) -> None:
        self._log = log
        self._queue = queue
        self._job_set = job_set
        self._max_entries = max_entries
        self.limit = min(FIRST_LIMIT, max_entries)

    def read(self, pos: Position, stop_at: int | None = None) -> Page:
        """The page after ``pos`` (runs in a worker thread: it reads and converts)."""
        head = self._log.head()
        after = pos[0] if pos[1] == COMPLETE else pos[0] - 1
        entries = self._log.read_job_set(self._queue, self._job_set, after, self.limit)
        at_end = len(entries) < self.limit
        if stop_at is not None:
            head = min(head, stop_at)
            kept = [e for e in entries if e.offset <= stop_at]
            at_end = at_end or len(kept) < len(entries)
            entries = kept
        converted = [convert(e, pos[1] if e.offset == pos[0] else -1) for e in entries]
        self._adapt(sum(len(c.messages) for c in converted), len(entries))
        last = entries[-1].offset if entries else pos[0]
        reached = (max(last, head) if at_end else last, COMPLETE)
        return Page([c for c in converted if c.messages], reached, at_end)

    def _adapt(self, events: int, entries: int) -> None:
        if events > PAGE_EVENTS and self.limit > 1:
            self.limit = max(1, self.limit // 2)
        elif events < PAGE_EVENTS // 4 and entries == self.limit:
            self.limit = min(self._max_entries, self.limit * 2)

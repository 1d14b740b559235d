"""When each line of a process-backend container's output was written.

A container writes its output straight into its log file: no pipe and no process stand between
the command and the file, so its output keeps flowing whatever happens to the executor, and a
container costs one program start besides its command. The executor notes how far each
running container's log has grown, as ``<offset> <seconds since the epoch>`` lines in the
container's ``.stamps`` file: every :data:`STAMP_INTERVAL` while the container runs, once when
it ends, and before every read. A line of output has the time of the first note that covers
its end: the time it was written, at most an interval late (Kubernetes' runtime, which stamps
a line when it reads it from the container's pipe, is late by its own scheduling too). Lines
written while no executor ran (between a crash and the restart that takes the pod back) have
the time the new executor first saw them. Notes, once written, never change a line's time, so
repeated reads (``armadactl logs -f``) agree.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from armada.executor.logtext import rfc3339
from armada.executor.model import PodLogLine

STAMP_INTERVAL = 0.2  # seconds between notes of a running container's output


class OutputStamps:
    """Notes how far containers' logs have grown (thread-safe: ticks run off the loop)."""

    def __init__(self) -> None:
        self._noted: dict[Path, int] = {}
        self._lock = threading.Lock()

    def note(self, logs: Iterable[tuple[Path, Path]], now: float) -> None:
        """Note, for each (log, stamps) pair, the log's size now if it grew since last noted."""
        with self._lock:
            for log, stamps in logs:
                try:
                    size = os.stat(log).st_size
                except OSError:
                    continue
                if size == 0 or self._noted.get(stamps) == size:
                    continue
                try:
                    with open(stamps, "a", encoding="ascii") as file:
                        file.write(f"{size} {now:.6f}\n")  # one short write: whole or absent
                except OSError:
                    continue
                self._noted[stamps] = size

    def forget(self, stamps: Path) -> None:
        """Drop what is remembered of a container whose files are gone."""
        with self._lock:
            self._noted.pop(stamps, None)


def _notes(stamps: Path) -> tuple[list[int], list[float]]:
    """The notes of ``stamps`` by offset, each with the earliest time that covers it."""
    try:
        text = stamps.read_text(encoding="ascii", errors="replace")
    except OSError:
        return [], []
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0].isdigit():  # a torn last note is skipped
            try:
                found.append((int(fields[0]), float(fields[1])))
            except ValueError:
                continue
    found.sort()
    offsets = [offset for offset, _ in found]
    times = [moment for _, moment in found]
    for index in range(len(times) - 2, -1, -1):
        times[index] = min(times[index], times[index + 1])
    return offsets, times


def stamped_lines(log: Path, stamps: Path, now: float) -> list[PodLogLine]:
    """The log's lines, each with the time it was written (``now`` for any not yet noted)."""
    try:
        data = log.read_bytes()
    except OSError:
        return []
    offsets, times = _notes(stamps)
    lines = []
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            end = len(data)
        index = bisect.bisect_left(offsets, end)
        moment = times[index] if index < len(times) else now
        lines.append(PodLogLine(rfc3339(moment), data[start:end].decode(errors="replace")))
        start = end + 1
    return lines

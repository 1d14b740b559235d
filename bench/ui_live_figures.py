"""The figures of `bench.lookout_ui_live`, from what the log said and what the browser showed.

The log's side is each job's timeline: the state it entered and when (the events' ``created``
time, stamped by the component that made the change). The browser's side is samples of the
jobs table: when, and which job showed which state. Both clocks are this machine's wall clock.

* The lag of a shown row: how long ago the log moved its job past the state shown (0 while
  the state shown is the job's state). The lag of a sample is that of its most behind row:
  how stale the table is at that moment.
* The delay of a change: for a row that a live refresh brought (new in a sample, or in a new
  state, where the previous sample was of the same view with no input from the user since),
  the time from the log's change into the state shown to the sample that first showed it.
  Conservative: a row can also come into a page because others left it, long after its own
  change.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

# The job state each event of the stream moves a job into (the Lookout API's names).
STATE_OF_EVENT = {
    "submitted": "QUEUED",
    "lease_returned": "QUEUED",
    "lease_expired": "QUEUED",
    "leased": "LEASED",
    "pending": "PENDING",
    "running": "RUNNING",
    "succeeded": "SUCCEEDED",
    "failed": "FAILED",
    "cancelled": "CANCELLED",
    "preempted": "PREEMPTED",
}
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "PREEMPTED", "REJECTED"})


@dataclass
class Timelines:
    """Each job's states as the log tells them, appended by the stream followers' threads."""

    jobs: dict[str, tuple[list[float], list[str]]] = field(default_factory=dict)
    changes: list[tuple[float, str]] = field(default_factory=list)  # when, into which state
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, job_id: str, state: str, at: float) -> None:
        with self.lock:
            times, states = self.jobs.setdefault(job_id, ([], []))
            times.append(at)
            states.append(state)
            self.changes.append((at, state))

    def finished(self, job_ids: Sequence[str]) -> int:
        with self.lock:
            return sum(1 for j in job_ids if j in self.jobs and self.jobs[j][1][-1] in TERMINAL)

    def rate(self, start: float, end: float) -> float:
        """State changes a second whose time falls in [start, end)."""
        return sum(self._within(start, end).values()) / (end - start)

    def counts(self, start: float, end: float) -> str:
        """The changes in [start, end) by the state they went into: 'QUEUED 100, ...'."""
        return ", ".join(f"{s} {n:,}" for s, n in self._within(start, end).items())

    def _within(self, start: float, end: float) -> dict[str, int]:
        with self.lock:
            return dict(Counter(s for at, s in self.changes if start <= at < end))

    def lag(self, job_id: str, shown: str, at: float) -> float | None:
        """How long before ``at`` the log moved ``job_id`` past ``shown`` (0: it had not);
        None when the log never had the job in that state by then."""
        entry = self.jobs.get(job_id)
        if entry is None:
            return None
        times, states = entry
        last = bisect.bisect_right(times, at)  # entries that had happened by ``at``
        for i in range(last - 1, -1, -1):
            if states[i] == shown:
                return 0.0 if i == last - 1 else at - times[i + 1]
        return None

    def entered(self, job_id: str, state: str) -> float | None:
        entry = self.jobs.get(job_id)
        if entry is None:
            return None
        times, states = entry
        for at, s in zip(times, states, strict=True):
            if s == state:
                return at
        return None


Sample = tuple[float, str, list[str], list[str]]  # time (s), view, job ids, states shown


@dataclass
class Staleness:
    sample_lags: list[float]  # per sample, its most behind row's lag
    stale_rows: int  # rows shown in a state the log had left
    rows: int
    unknown_rows: int  # rows in a state the log did not have (yet): should be 0
    delays: list[float]  # per row a refresh brought, log -> first sample showing it


def staleness(timelines: Timelines, samples: Sequence[Sample]) -> Staleness:
    out = Staleness([], 0, 0, 0, [])
    previous: dict[str, str] = {}
    previous_view = ""
    for at, view, ids, states in samples:
        worst = 0.0
        for job_id, state in zip(ids, states, strict=True):
            out.rows += 1
            lag = timelines.lag(job_id, state, at)
            if lag is None:
                out.unknown_rows += 1
                continue
            if lag > 0:
                out.stale_rows += 1
            worst = max(worst, lag)
            if view == previous_view and previous.get(job_id) != state:
                entered = timelines.entered(job_id, state)
                if entered is not None:
                    out.delays.append(at - entered)
        out.sample_lags.append(worst)
        previous = dict(zip(ids, states, strict=True))
        previous_view = view
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """The value below which a fraction ``q`` of ``values`` lie (nearest rank); 0 if none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))]


def spread(values: Sequence[float], unit: str = "ms", scale: float = 1.0) -> str:
    """'p50 X, p99 Y, max Z unit (n N)' of ``values`` times ``scale``."""
    if not values:
        return "none"
    p50, p99 = percentile(values, 0.5) * scale, percentile(values, 0.99) * scale
    return (
        f"p50 {p50:,.0f}, p99 {p99:,.0f}, max {max(values) * scale:,.0f} {unit} (n {len(values):,})"
    )

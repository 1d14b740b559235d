"""What the web UI needs beyond Armada's Lookout API, under ``/api/armada/`` (names of our own,
kept apart from Armada's ``/api/v1/``):

* ``POST /api/armada/jobEvents`` ``{"jobId"}``: the job's history as the log tells it, every
  event with when, who and what caused it;
* ``GET /api/armada/queues``: each queue with its settings, its job counts by state, and each
  pool's fair share, adjusted fair share, actual share and demand from its latest round, plus
  those figures over the recent rounds: from the scheduler in this process (``armada dev``) or
  polled from the scheduler's reports API (``armada lookout``: :mod:`armada.lookout.remote`);
  ``schedulerProblem`` says why there are none when the scheduler cannot be reached.

Logs and actions need nothing here: they are REST gateway routes (``/v1/binoculars/log``,
``/v1/job/cancel``...).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from threading import Lock
from typing import Any

import msgspec

from armada.eventlog.base import EventLog
from armada.lookout.api.query import ACTIVE_STATES
from armada.lookout.api.reader import LookoutReader
from armada.lookout.api.shapes import rfc3339
from armada.lookout.api.visibility import Visible
from armada.scheduling.round_data import SchedulingResult

ENTRIES_PER_READ = 200
MAX_EVENTS = 10_000
SERIES_POINTS = 2_000  # (pool, queue, round) points kept for the queues' charts
NO_SCHEDULER = "this process knows no scheduler to ask (armada lookout --scheduler-address)"

Rounds = Callable[[], list[SchedulingResult]]


def job_events(reader: LookoutReader, log: EventLog, job_id: str) -> dict[str, Any]:
    """The job's events, oldest first (read from its job set's part of the log)."""
    job = reader.job(job_id)
    found: list[dict[str, Any]] = []
    after = 0
    while len(found) < MAX_EVENTS:
        entries = log.read_job_set(job.spec.queue, job.spec.job_set, after, ENTRIES_PER_READ)
        if not entries:
            break
        for entry in entries:
            seq = entry.sequence
            for index, event in enumerate(seq.events):
                if getattr(event, "job_id", None) == job_id or _submits(event, job_id):
                    details = msgspec.to_builtins(event)
                    details.pop("spec", None)  # the spec is /api/v1/jobSpec's
                    found.append(
                        {
                            "id": f"{entry.offset}:{index}",
                            "type": type(event).__name__,
                            "created": rfc3339(seq.created),
                            "user": seq.user,
                            "cause": seq.cause,
                            "details": details,
                        }
                    )
        after = entries[-1].offset
    return {"events": found}


def _submits(event: object, job_id: str) -> bool:
    spec = getattr(event, "spec", None)
    return spec is not None and getattr(spec, "job_id", None) == job_id


@dataclass(frozen=True, slots=True)
class ShareRow:
    """One queue's figures in one pool's round (shares are fractions of the pool)."""

    pool: str
    cycle: int
    started: float
    queue: str
    fair_share: float
    adjusted_fair_share: float
    actual_share: float
    demand: float
    queued_jobs: int
    running_jobs: int


@dataclass(frozen=True, slots=True)
class Shares:
    """What is known of the scheduler's rounds: ``rows`` from those it keeps, or ``problem``
    saying why there are none (the scheduler cannot be reached, or none is configured)."""

    rows: tuple[ShareRow, ...] = ()
    problem: str = ""


def shares_of_rounds(rounds: list[SchedulingResult]) -> Shares:
    """The rows of an in-process scheduler's kept rounds."""
    return Shares(
        rows=tuple(
            ShareRow(
                pool=pool.pool,
                cycle=result.cycle,
                started=pool.started,
                queue=q.queue,
                fair_share=q.fair_share,
                adjusted_fair_share=q.adjusted_fair_share,
                actual_share=q.actual_share,
                demand=q.demand_share,
                queued_jobs=q.queued_jobs,
                running_jobs=q.running_jobs,
            )
            for result in rounds
            for pool in result.pools
            for q in pool.queues
        )
    )


class QueueFigures:
    """Answers ``GET /api/armada/queues``. It is told the scheduler's rounds (:meth:`record`:
    by ``rounds`` at each answer where the scheduler runs in this process, else by whoever
    polls the scheduler's reports API) and keeps their figures for the chart."""

    def __init__(self, reader: LookoutReader, rounds: Rounds | None = None) -> None:
        self.reader = reader
        self.rounds = rounds
        self._series: deque[dict[str, Any]] = deque(maxlen=SERIES_POINTS)
        self._seen: set[tuple[str, int]] = set()
        self._latest: dict[str, list[dict[str, Any]]] = {}  # queue -> figures in each pool
        self._problem = "" if rounds is not None else NO_SCHEDULER
        self._lock = Lock()

    def record(self, shares: Shares) -> None:
        """The scheduler's rounds as last seen: the newest per pool become the figures shown,
        and rounds not seen before join the chart's series."""
        newest: dict[str, int] = {}
        for row in shares.rows:
            newest[row.pool] = max(newest.get(row.pool, row.cycle), row.cycle)
        latest: dict[str, list[dict[str, Any]]] = {}
        with self._lock:
            self._problem = shares.problem
            fresh = {(r.pool, r.cycle) for r in shares.rows} - self._seen
            for row in shares.rows:
                values = _figures(row)
                if (row.pool, row.cycle) in fresh:
                    self._series.append({"queue": row.queue, "cycle": row.cycle, **values})
                if newest[row.pool] == row.cycle:
                    latest.setdefault(row.queue, []).append(values)
            self._seen |= fresh
            if len(self._seen) > SERIES_POINTS:
                self._seen = {(p["pool"], p["cycle"]) for p in self._series}
            if shares.rows:  # else the last figures known stay, beside the problem
                self._latest = latest

    def answer(self, visible: Visible = None) -> dict[str, Any]:
        """Every queue's settings (as GetQueues gives anyone); its job counts and share
        figures only where the caller may watch it (``visible``; None: every queue)."""
        if self.rounds is not None:
            self.record(shares_of_rounds(self.rounds()))
        store = self.reader.store
        counts: dict[str, dict[str, int]] = {}
        with store.read() as conn:
            for queue, state, count in conn.execute(
                "SELECT queue, state, COUNT(*) FROM jobs WHERE state IN (?, ?, ?, ?)"
                " GROUP BY queue, state",
                [s.value for s in ACTIVE_STATES],
            ):
                counts.setdefault(queue, {})[state] = int(count)

        def seen(queue: str) -> bool:
            return visible is None or queue in visible

        with self._lock:
            latest = self._latest
            problem = self._problem
            series = [point for point in self._series if seen(point["queue"])]
        queues = [
            {
                "name": queue.name,
                "priorityFactor": queue.priority_factor,
                "cordoned": queue.cordoned,
                "labels": dict(queue.labels),
                "jobCounts": counts.get(queue.name, {}) if seen(queue.name) else {},
                "pools": latest.get(queue.name, []) if seen(queue.name) else [],
            }
            for queue in store.list_queues()
        ]
        return {
            "schedulerInProcess": self.rounds is not None,
            "schedulerProblem": problem,
            "queues": queues,
            "history": series,
        }


def _figures(row: ShareRow) -> dict[str, Any]:
    return {
        "pool": row.pool,
        "time": rfc3339(row.started),
        "fairShare": row.fair_share,
        "adjustedFairShare": row.adjusted_fair_share,
        "actualShare": row.actual_share,
        "demand": row.demand,
        "queuedJobs": row.queued_jobs,
        "runningJobs": row.running_jobs,
    }

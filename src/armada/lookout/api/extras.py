"""What the web UI needs beyond Armada's Lookout API, under ``/api/armada/`` (names of our own,
kept apart from Armada's ``/api/v1/``):

* ``POST /api/armada/jobEvents`` ``{"jobId"}``: the job's history as the log tells it, every
  event with when, who and what caused it;
* ``GET /api/armada/queues``: each queue with its settings, its job counts by state, and,
  where the scheduler runs in this process, each pool's fair share, adjusted fair share,
  actual share and demand from its latest round, plus those figures over the recent rounds.

Logs and actions need nothing here: they are REST gateway routes (``/v1/binoculars/log``,
``/v1/job/cancel``...).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
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


class QueueFigures:
    """Answers ``GET /api/armada/queues``; keeps the share figures of the rounds it has seen."""

    def __init__(self, reader: LookoutReader, rounds: Rounds | None) -> None:
        self.reader = reader
        self.rounds = rounds
        self._series: deque[dict[str, Any]] = deque(maxlen=SERIES_POINTS)
        self._seen: set[tuple[str, int]] = set()
        self._lock = Lock()

    def answer(self, visible: Visible = None) -> dict[str, Any]:
        """Every queue's settings (as GetQueues gives anyone); its job counts and share
        figures only where the caller may watch it (``visible``; None: every queue)."""
        store = self.reader.store
        counts: dict[str, dict[str, int]] = {}
        with store.read() as conn:
            for queue, state, count in conn.execute(
                "SELECT queue, state, COUNT(*) FROM jobs WHERE state IN (?, ?, ?, ?)"
                " GROUP BY queue, state",
                [s.value for s in ACTIVE_STATES],
            ):
                counts.setdefault(queue, {})[state] = int(count)
        latest = self._latest_rounds()

        def seen(queue: str) -> bool:
            return visible is None or queue in visible

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
        with self._lock:
            series = [point for point in self._series if seen(point["queue"])]
        return {"schedulerInProcess": self.rounds is not None, "queues": queues, "history": series}

    def _latest_rounds(self) -> dict[str, list[dict[str, Any]]]:
        """Per queue, its figures in each pool's newest round; the rounds go to the series."""
        if self.rounds is None:
            return {}
        newest: dict[str, dict[str, Any]] = {}  # pool -> figures by queue
        for result in self.rounds():
            for pool in result.pools:
                figures = {q.queue: _figures(pool.pool, pool.started, q) for q in pool.queues}
                newest[pool.pool] = figures
                self._remember(pool.pool, result.cycle, figures)
        by_queue: dict[str, list[dict[str, Any]]] = {}
        for figures in newest.values():
            for queue, values in figures.items():
                by_queue.setdefault(queue, []).append(values)
        return by_queue

    def _remember(self, pool: str, cycle: int, figures: dict[str, dict[str, Any]]) -> None:
        with self._lock:
            if (pool, cycle) in self._seen:
                return
            self._seen.add((pool, cycle))
            if len(self._seen) > SERIES_POINTS:
                self._seen = {(p["pool"], p["cycle"]) for p in self._series}
            for queue, values in figures.items():
                self._series.append({"queue": queue, "cycle": cycle, **values})


def _figures(pool: str, started: float, q: Any) -> dict[str, Any]:
    return {
        "pool": pool,
        "time": rfc3339(started),
        "fairShare": q.fair_share,
        "adjustedFairShare": q.adjusted_fair_share,
        "actualShare": q.actual_share,
        "demand": q.demand_share,
        "queuedJobs": q.queued_jobs,
        "runningJobs": q.running_jobs,
    }

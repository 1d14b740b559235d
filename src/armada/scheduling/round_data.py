"""The data going into and coming out of one scheduling round.

:class:`SchedulingSnapshot` is everything :func:`armada.scheduling.schedule` looks at;
:class:`SchedulingResult` is everything it decides. Both are plain data: the scheduler service
gathers the first, and turns the second into events (it assigns run ids; the core makes none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from armada.domain.queues import Queue
from armada.scheduling.jobdb_snapshot import JobDbSnapshot
from armada.scheduling.nodes import Node
from armada.scheduling.ratelimit import RateLimiterState


@dataclass(frozen=True, slots=True)
class SchedulingSnapshot:
    """The world as one round sees it."""

    jobs: JobDbSnapshot
    nodes: Sequence[Node]
    queues: Sequence[Queue]
    now: float
    cordoned_executors: frozenset[str] = frozenset()
    rate_limits: RateLimiterState = field(default_factory=RateLimiterState)
    cycle: int = 0


class Lease(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Run this job there (the service makes a run id and appends ``JobRunLeased``)."""

    job_id: str
    queue: str
    executor: str
    node: str
    pool: str
    scheduled_at_priority: int
    gang_id: str = ""
    gang_uniformity_value: str = ""


class Preemption(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Stop this run (the service appends ``JobRunPreempted`` with the reason)."""

    job_id: str
    run_id: str
    queue: str
    pool: str
    reason: str
    kind: str  # "fair-share", "urgency" or "gang"
    preempting_job_id: str = ""


class KeyReason(msgspec.Struct, frozen=True, kw_only=True):
    """Why jobs of one queue with one scheduling key stayed queued in one pool."""

    pool: str
    queue: str
    key_id: int
    key: str
    reason: str
    jobs: int


class QueueRound(msgspec.Struct, frozen=True, kw_only=True):
    """One queue in one pool's round (shares are fractions of the pool, by DRF cost)."""

    queue: str
    weight: float
    fair_share: float
    adjusted_fair_share: float
    actual_share: float
    share_after: float
    demand_share: float
    cordoned: bool
    queued_jobs: int
    running_jobs: int
    scheduled_jobs: int
    scheduled_resources: dict[str, int]
    preempted_jobs: int
    evicted_jobs: int
    reasons: tuple[str, ...]


class PoolReport(msgspec.Struct, frozen=True, kw_only=True):
    """What happened in one pool in one round."""

    pool: str
    cycle: int
    started: float
    duration: float
    termination_reason: str
    nodes: int
    schedulable_nodes: int
    capacity: dict[str, int]
    scheduled_jobs: int
    scheduled_gangs: int
    scheduled_resources: dict[str, int]
    preempted_jobs: int
    preempted_resources: dict[str, int]
    queues: tuple[QueueRound, ...]
    # What the nodes offer before ``capacity`` rounds each node down to the indexed
    # resolutions (256Gi of memory is 262100Mi at Armada's 100Mi): what a user configured.
    offered: dict[str, int] = {}


class SchedulingResult(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one round decided."""

    cycle: int
    now: float
    leases: tuple[Lease, ...]
    preemptions: tuple[Preemption, ...]
    job_reasons: dict[str, str]
    key_reasons: tuple[KeyReason, ...]
    rate_limits: RateLimiterState
    pools: tuple[PoolReport, ...]

    def reason_for(self, job_id: str, queue: str, key_id: int) -> str | None:
        """Why a job stayed queued: its own reason, else its (queue, key) group's, per pool."""
        own = self.job_reasons.get(job_id)
        if own is not None:
            return own
        found = [
            f"pool {r.pool}: {r.reason}"
            for r in self.key_reasons
            if r.queue == queue and r.key_id == key_id
        ]
        return "; ".join(found) if found else None

"""What every stage of one pool's round reads or keeps: the pool, its running jobs, its books.

A pool round is a pipeline (see :mod:`armada.scheduling.pool_round`); these are the values that
flow through it before any decision is made:

* :class:`PoolContext`: the pool, its settings, its node database and the cost function, fixed
  for the round (the node database itself changes as jobs are bound and unbound);
* :class:`Ledger`: what each queue holds in the pool (by priority class too) and what was
  scheduled this round, kept current by every stage;
* :class:`Running`: the pool's running jobs, bound to their nodes by :func:`bind_running`, the
  first stage;
* :class:`FillState`: what filling has decided so far (new leases, preemptions, which queues
  to rescore), shared by the helpers of the filling stage, and :class:`Placements`, what it
  hands on once done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import add, sub

from armada.config.scheduling import PoolSchedulingSettings
from armada.domain.lifecycle import JobRecord
from armada.scheduling.candidates import KeyInfo
from armada.scheduling.cycle import Cycle
from armada.scheduling.fairness import DrfCost
from armada.scheduling.nodedb import PoolNodeDb
from armada.scheduling.nodes import Node
from armada.scheduling.round_data import Lease


@dataclass(frozen=True, slots=True)
class PoolContext:
    """One pool in one round: fixed from the start of its round to the end."""

    cycle: Cycle
    pool: str
    pool_settings: PoolSchedulingSettings
    db: PoolNodeDb
    total: list[int]
    cost: DrfCost
    urgency: bool  # may a job urgency-preempt lower priority classes in this pool
    zero: list[int]

    @classmethod
    def build(cls, cycle: Cycle, pool: str, nodes: Sequence[Node]) -> PoolContext:
        settings = cycle.settings
        pool_settings = settings.pool(pool)
        db = PoolNodeDb(pool, nodes, cycle.space, cycle.levels, cycle.cordoned_executors)
        total = [int(x) for x in db.total()]
        names = cycle.space.names
        considered = [
            names.index(r)
            for r in settings.dominant_resource_fairness_resources_to_consider
            if r in names
        ]
        return cls(
            cycle=cycle,
            pool=pool,
            pool_settings=pool_settings,
            db=db,
            total=total,
            cost=DrfCost(total, considered),
            urgency=settings.enable_urgency_preemption
            and not pool_settings.disable_urgency_preemption,
            zero=[0] * len(names),
        )


class Ledger:
    """Each queue's holding in the pool (in total and per priority class), its counts of jobs
    running, evicted and preempted, and what the round has scheduled so far."""

    def __init__(self, zero: list[int]) -> None:
        self.zero = zero
        self.alloc: dict[str, list[int]] = {}
        self.alloc_pc: dict[tuple[str, str], list[int]] = {}
        self.stats: dict[str, dict[str, int]] = {}
        self.scheduled_round = list(zero)

    def add_alloc(self, queue: str, pc: str, request: Sequence[int], sign: int) -> None:
        op = add if sign > 0 else sub
        self.alloc[queue] = list(map(op, self.alloc.get(queue, self.zero), request))
        key = (queue, pc)
        self.alloc_pc[key] = list(map(op, self.alloc_pc.get(key, self.zero), request))

    def stat(self, queue: str, name: str, n: int = 1) -> None:
        counts = self.stats.setdefault(queue, {})
        counts[name] = counts.get(name, 0) + n

    def add_counts(
        self, cycle: Cycle, counts: dict[tuple[str, int], int], sign: int, stat: str
    ) -> None:
        """Add (or take away) ``n`` jobs of a scheduling key per (queue, key id)."""
        for (queue, key_id), n in counts.items():
            info = cycle.infos[key_id]
            self.add_alloc(queue, info.key.priority_class, [n * v for v in info.request], sign)
            self.stat(queue, stat, n)


@dataclass(frozen=True, slots=True)
class Running:
    """The pool's running jobs (bound to their nodes, or on vanished ones) and the books."""

    jobs: dict[str, JobRecord]
    started: dict[str, float]  # job id -> when its run started (or was leased)
    ledger: Ledger
    by_class: dict[tuple[str, str], int] = field(default_factory=dict)  # (queue, class) -> jobs


def bind_running(ctx: PoolContext) -> Running:
    """Stage 1: put every running job of the pool on its node (jobs on vanished nodes still
    count against their queue)."""
    cycle = ctx.cycle
    snap, queues, index = cycle.snap, cycle.queues, ctx.db.index
    running: dict[str, JobRecord] = {}
    started: dict[str, float] = {}
    counts: dict[tuple[str, int], int] = {}
    binds: list[tuple[str, str, int, KeyInfo]] = []
    for job_id in sorted(snap.active_in_pool(ctx.pool)):
        job = snap[job_id]
        run = job.runs[-1] if job.runs else None
        queue = job.spec.queue
        if run is None or run.state.terminal:
            continue
        info = cycle.info(job)
        running[job_id] = job
        started[job_id] = run.running_at or run.leased_at
        if queue in queues:  # a deleted queue's jobs still hold their nodes
            counts[(queue, info.key.id)] = counts.get((queue, info.key.id), 0) + 1
        node = index.get((run.executor, run.node))
        if node is not None:
            binds.append((job_id, queue, node, info))
    ctx.db.bind_many(
        [
            (job_id, queue, node, info.vector, info.bind_priority)
            for job_id, queue, node, info in binds
        ]
    )
    ledger = Ledger(ctx.zero)
    ledger.add_counts(cycle, counts, 1, "running")
    by_class: dict[tuple[str, str], int] = {}
    for (queue, key_id), n in counts.items():
        pc_key = (queue, cycle.infos[key_id].key.priority_class)
        by_class[pc_key] = by_class.get(pc_key, 0) + n
    return Running(jobs=running, started=started, ledger=ledger, by_class=by_class)


@dataclass(slots=True)
class NewLease:
    queue: str
    info: KeyInfo
    node: int
    gang_id: str
    uniformity_value: str


@dataclass(slots=True)
class FillState:
    """What filling has decided so far; the helpers of the filling stage share it."""

    new_here: dict[str, NewLease] = field(default_factory=dict)  # this round's leases here
    preempted: set[str] = field(default_factory=set)
    to_rescore: set[str] = field(default_factory=set)  # queues whose allocation changed
    doomed: set[str] = field(default_factory=set)  # evicted jobs whose gang was preempted
    stop_reason: str = ""


@dataclass(frozen=True, slots=True)
class Placements:
    """Stage 4's result: what filling decided in the pool."""

    new: dict[str, NewLease]  # job id -> its new lease, in the order they were made
    preempted: set[str]
    stop_reason: str  # why the round stopped early ("" if every queue ran out)

    def leases(self, ctx: PoolContext) -> list[Lease]:
        """The round's new leases, in the order they were made."""
        nodes = ctx.db.nodes
        return [
            Lease(
                job_id=job_id,
                queue=new.queue,
                executor=nodes[new.node].executor,
                node=nodes[new.node].name,
                pool=ctx.pool,
                scheduled_at_priority=new.info.key.pc_priority,
                gang_id=new.gang_id,
                gang_uniformity_value=new.uniformity_value,
            )
            for job_id, new in self.new.items()
        ]

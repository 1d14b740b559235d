"""Armada's scheduler test tables, stated as data and replayed on the scheduling core.

Armada's ``preempting_queue_scheduler_test.go``, ``queue_scheduler_test.go`` and
``gang_scheduler_test.go`` describe each case as nodes, queues with priority factors, and
rounds of submitted jobs with the indices (per queue, per round) expected to be scheduled and
preempted. This module gives the same shape in our words:

* :func:`jobs` (and :func:`large`, :func:`gang`) make a batch of identical jobs of one queue;
* :class:`Round` lists the batches submitted before a round and what it should do;
* :class:`Case` holds the nodes, queues, settings and rounds; :func:`replay` runs it.

As in Armada's harness, every job a round leaves queued is withdrawn after it (cancelled), so
each round sees only its own submissions, and a preempted job is gone for good. Armada's
fixtures are kept: 32-CPU/256Gi nodes (``largeJobsOnly`` tainted ones for whole-node jobs that
tolerate it), its test priority classes (``priority-0`` .. ``priority-3``), default class
``priority-3``, jobs with job priority 1000, no rate limits unless a case sets them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from armada.config.scheduling import PriorityClassSettings
from armada.domain import events as ev
from armada.domain.jobs import Gang, NodeSelectorTerm, Taint, Toleration
from armada.domain.queues import Queue
from armada.scheduling import Node
from armada.scheduling.round_data import SchedulingResult
from tests.scheduling.world import World, node

PC0, PC1, PC2, PC3 = "priority-0", "priority-1", "priority-2", "priority-3"
PC2_NP = "priority-2-non-preemptible"
PC_PREEMPTIBLE = "armada-preemptible"  # Armada's PriorityClass6Preemptible

ARMADA_CLASSES = {
    PC0: PriorityClassSettings(priority=0, preemptible=True),
    PC1: PriorityClassSettings(priority=1, preemptible=True),
    PC2: PriorityClassSettings(priority=2, preemptible=True),
    PC2_NP: PriorityClassSettings(priority=2, preemptible=False),
    PC3: PriorityClassSettings(priority=3, preemptible=False),
    PC_PREEMPTIBLE: PriorityClassSettings(priority=30000, preemptible=True),
}

# Queues of equal weight, as most of Armada's cases have them.
AB = {"A": 1.0, "B": 1.0}
ABC = {"A": 1.0, "B": 1.0, "C": 1.0}


def per_class_cpu_limits() -> dict[str, PriorityClassSettings]:
    """Armada's test classes with a per-queue cap of 1/32 of the CPU at priority 0, 2/32 at 1,
    3/32 at 2 and 4/32 at 3 (its ``WithPerQueueLimitsConfig`` in the tables)."""
    fractions = {PC0: 1 / 32, PC1: 2 / 32, PC2: 3 / 32, PC3: 4 / 32}
    return {
        name: (
            PriorityClassSettings(
                priority=pc.priority,
                preemptible=pc.preemptible,
                maximum_resource_fraction_per_queue={"cpu": fractions[name]},
            )
            if name in fractions
            else pc
        )
        for name, pc in ARMADA_CLASSES.items()
    }


LARGE_ONLY = Taint(key="largeJobsOnly", value="true", effect="NoSchedule")
TOLERATE_LARGE = (Toleration(key="largeJobsOnly", value="true"),)


def nodes32(
    n: int, *, tainted: bool = False, executor: str = "cluster-1", **labels: str
) -> list[Node]:
    """``n`` 32-CPU, 256Gi nodes (Armada's ``N32CpuNodes`` / ``NTainted32CpuNodes``)."""
    taints = (LARGE_ONLY,) if tainted else ()
    if tainted:
        labels = {"largeJobsOnly": "true", **labels}
    return [
        node("", cpu=32, memory_gi=256, labels=labels, taints=taints, executor=executor)
        for _ in range(n)
    ]


def named(nodes: Sequence[Node]) -> list[Node]:
    """Name nodes in the order given, so that index i is node-{i:02d} (tests cordon by index)."""
    out = []
    for i, n in enumerate(nodes):
        name = f"node-{i:02d}"
        labels = {**n.labels, "kubernetes.io/hostname": name}
        out.append(
            Node(
                executor=n.executor,
                name=name,
                pool=n.pool,
                allocatable=n.allocatable,
                labels=labels,
                taints=n.taints,
                unschedulable=n.unschedulable,
                non_armada_allocated=n.non_armada_allocated,
            )
        )
    return out


@dataclass(frozen=True)
class Jobs:
    """``n`` identical jobs of one queue; ``gang`` makes them one gang of cardinality n."""

    queue: str
    priority_class: str
    n: int
    cpu: float = 1
    memory_gi: float = 4
    gpu: int = 0
    large: bool = False  # tolerates the largeJobsOnly taint
    gang_id: str = ""
    gang_cardinality: int = 0
    uniformity: str = ""
    priority: int = 1000
    node_selector: Mapping[str, str] = field(default_factory=dict)
    affinity: tuple[NodeSelectorTerm, ...] = ()


def jobs(queue: str, priority_class: str, n: int, **kw: Any) -> Jobs:
    """1 CPU, 4Gi jobs (Armada's ``N1Cpu4GiJobs``); keywords change the shape."""
    return Jobs(queue, priority_class, n, **kw)


def large(queue: str, priority_class: str, n: int, **kw: Any) -> Jobs:
    """Whole-node jobs tolerating largeJobsOnly (``N32Cpu256GiJobsWithLargeJobToleration``)."""
    return Jobs(queue, priority_class, n, cpu=32, memory_gi=256, large=True, **kw)


_gang_ids = itertools.count(1)


def gang(batch: Jobs, *, gang_id: str = "", cardinality: int = 0, uniformity: str = "") -> Jobs:
    """The batch as (members of) one gang; by default a new gang of all its jobs."""
    return Jobs(
        **{
            **batch.__dict__,
            "gang_id": gang_id or f"gang-{next(_gang_ids)}",
            "gang_cardinality": cardinality or batch.n,
            "uniformity": uniformity,
        }
    )


@dataclass(frozen=True)
class Round:
    """Batches submitted before one round, and what the round must do: per queue, the indices
    (in this round's submissions of that queue) scheduled, and per queue and earlier round,
    the indices preempted."""

    submit: Sequence[Jobs] = ()
    scheduled: Mapping[str, Sequence[int]] = field(default_factory=dict)
    preempted: Mapping[str, Mapping[int, Sequence[int]]] = field(default_factory=dict)
    cordon: Sequence[int] = ()  # node indices cordoned from this round on


@dataclass(frozen=True)
class Case:
    nodes: Sequence[Node]
    queues: Mapping[str, float]  # queue -> priority factor
    rounds: Sequence[Round]
    settings: Mapping[str, Any] = field(default_factory=dict)
    running: Mapping[int, Sequence[Jobs]] = field(default_factory=dict)  # on node i at start
    queue_limits: Mapping[str, Any] = field(default_factory=dict)  # queue -> resource limits
    cordoned_queues: frozenset[str] = frozenset()


def span(a: int, b: int) -> list[int]:
    """Armada's ``IntRange``: a..b inclusive."""
    return list(range(a, b + 1))


def _submit(w: World, batch: Jobs) -> list[str]:
    gang_ = None
    if batch.gang_id:
        gang_ = Gang(
            id=batch.gang_id,
            cardinality=batch.gang_cardinality,
            node_uniformity_label=batch.uniformity,
        )
    req: dict[str, Any] = {}
    if batch.large:
        req["tolerations"] = TOLERATE_LARGE
    if batch.node_selector:
        req["node_selector"] = dict(batch.node_selector)
    if batch.affinity:
        req["node_affinity"] = batch.affinity
    return w.submit(
        batch.queue,
        batch.n,
        cpu=batch.cpu,
        memory_gi=batch.memory_gi,
        gpu=batch.gpu,
        priority_class=batch.priority_class,
        priority=batch.priority,
        gang=gang_,
        **req,
    )


def world_for(case: Case) -> World:
    overrides: dict[str, Any] = {
        "priority_classes": ARMADA_CLASSES,
        "default_priority_class_name": PC3,
        "dominant_resource_fairness_resources_to_consider": ["cpu", "memory", "nvidia.com/gpu"],
        "indexed_resources": {"cpu": "1", "memory": "128Mi", "nvidia.com/gpu": "1"},
        **case.settings,
    }
    queues = [
        Queue(
            name=q,
            priority_factor=factor,
            resource_limits_by_priority_class=case.queue_limits.get(q, {}),
            cordoned=q in case.cordoned_queues,
        )
        for q, factor in case.queues.items()
    ]
    return World(named(case.nodes), queues, **overrides)


def _start_running(w: World, case: Case) -> dict[str, tuple[str, int, int]]:
    """Jobs already running when the case starts (they may belong to unknown queues); their
    indices, per queue, count as round -1 (Armada's tables number them per node)."""
    runs = itertools.count(1)
    where: dict[str, tuple[str, int, int]] = {}
    for index, batches in case.running.items():
        target = w.nodes[index]
        counts: dict[str, int] = {}
        for batch in batches:
            for job_id in _submit(w, batch):
                where[job_id] = (batch.queue, -1, counts.get(batch.queue, 0))
                counts[batch.queue] = counts.get(batch.queue, 0) + 1
                w.apply(
                    ev.JobRunLeased(
                        job_id=job_id,
                        run_id=f"initial-{next(runs)}",
                        executor=target.executor,
                        node=target.name,
                        pool=target.pool,
                    )
                )
    return where


def replay(case: Case) -> list[SchedulingResult]:
    """Run every round; assert what each scheduled and preempted, as Armada's tables state."""
    w = world_for(case)
    where = _start_running(w, case)  # job id -> (queue, round, index)
    cordoned: set[int] = set()
    results = []
    for number, round_ in enumerate(case.rounds):
        cordoned.update(round_.cordon)
        w.nodes = [_cordoned(n) if i in cordoned else n for i, n in enumerate(named(case.nodes))]
        counts: dict[str, int] = {}
        submitted: list[str] = []
        for batch in round_.submit:
            for job_id in _submit(w, batch):
                index = counts.get(batch.queue, 0)
                counts[batch.queue] = index + 1
                where[job_id] = (batch.queue, number, index)
                submitted.append(job_id)
        result = w.round()
        results.append(result)
        scheduled: dict[str, list[int]] = {}
        for lease in result.leases:
            queue, at, index = where[lease.job_id]
            assert at == number, f"round {number}: a job of round {at} was scheduled"
            scheduled.setdefault(queue, []).append(index)
        preempted: dict[str, dict[int, list[int]]] = {}
        for p in result.preemptions:
            queue, at, index = where[p.job_id]
            preempted.setdefault(queue, {}).setdefault(at, []).append(index)
        want_scheduled = {q: sorted(v) for q, v in round_.scheduled.items() if v}
        got_scheduled = {q: sorted(v) for q, v in scheduled.items()}
        assert got_scheduled == want_scheduled, f"round {number} scheduled {got_scheduled}"
        want_preempted = {
            q: {r: sorted(v) for r, v in by_round.items() if v}
            for q, by_round in round_.preempted.items()
        }
        got_preempted = {q: {r: sorted(v) for r, v in d.items()} for q, d in preempted.items()}
        want_preempted = {q: d for q, d in want_preempted.items() if d}
        assert got_preempted == want_preempted, f"round {number} preempted {got_preempted}"
        _withdraw_queued(w, submitted)
    return results


def _cordoned(n: Node) -> Node:
    return Node(
        executor=n.executor,
        name=n.name,
        pool=n.pool,
        allocatable=n.allocatable,
        labels=n.labels,
        taints=n.taints,
        unschedulable=True,
        non_armada_allocated=n.non_armada_allocated,
    )


def _withdraw_queued(w: World, submitted: list[str]) -> None:
    """Armada's harness deletes a round's unscheduled jobs; we cancel them."""
    queued = w.queued()
    left = [job_id for job_id in submitted if job_id in queued]
    if left:
        w.apply(*(ev.CancelledJob(job_id=job_id) for job_id in left))

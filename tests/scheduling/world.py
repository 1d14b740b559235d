"""A small world for scheduler tests: a job database, nodes, queues and rounds.

``World.round()`` does what the scheduler service does with a result: it turns leases into
``JobRunLeased`` (with run ids from a sequential id source) and preemptions into
``JobRunPreempted``, applied to the job database through the lifecycle, so several rounds can
follow one another. Every round validates the job database.
"""

from __future__ import annotations

import itertools
from typing import Any

from armada.config.scheduling import PriorityClassSettings, SchedulingSettings
from armada.domain import events as ev
from armada.domain.jobs import Gang, Taint
from armada.domain.queues import Queue
from armada.scheduling import JobDb, Node, RateLimiterState, SchedulingSnapshot, schedule
from armada.scheduling.round_data import SchedulingResult
from tests.builders import job_spec, requirements

GI = 2**30 * 1000
CPU = 1000

CLASSES = {
    "armada-default": PriorityClassSettings(priority=1000, preemptible=False),
    "armada-preemptible": PriorityClassSettings(priority=1000, preemptible=True),
    "urgent": PriorityClassSettings(priority=2000, preemptible=False),
    "low": PriorityClassSettings(priority=100, preemptible=True),
}


def settings(**overrides: Any) -> SchedulingSettings:
    values: dict[str, Any] = {
        "priority_classes": CLASSES,
        "maximum_scheduling_burst": 100_000,
        "maximum_per_queue_scheduling_burst": 100_000,
        "maximum_scheduling_rate": 1e9,
        "maximum_per_queue_scheduling_rate": 1e9,
    }
    values.update(overrides)
    return SchedulingSettings.model_validate(values)


def node(
    name: str,
    cpu: int = 32,
    memory_gi: int = 256,
    *,
    pool: str = "default",
    executor: str = "cluster-1",
    gpu: int = 0,
    labels: dict[str, str] | None = None,
    taints: tuple[Taint, ...] = (),
    unschedulable: bool = False,
) -> Node:
    allocatable = {"cpu": cpu * CPU, "memory": memory_gi * GI}
    if gpu:
        allocatable["nvidia.com/gpu"] = gpu * 1000
    return Node(
        executor=executor,
        name=name,
        pool=pool,
        allocatable=allocatable,
        labels={"kubernetes.io/hostname": name, **(labels or {})},
        taints=taints,
        unschedulable=unschedulable,
    )


class FakeMonotonic:
    """A monotonic clock that advances by ``step`` on every read (tests control time)."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class World:
    def __init__(self, nodes: list[Node], queues: list[Queue], **overrides: Any) -> None:
        self.settings = settings(**overrides)
        self.db = JobDb(self.settings.domain_priority_classes())
        self.nodes = nodes
        self.queues = queues
        self.now = 1_700_000_000.0
        self.rate_limits = RateLimiterState()
        self.cordoned: frozenset[str] = frozenset()
        self.cycle = 0
        self._ids = itertools.count(1)
        self._runs = itertools.count(1)
        self.results: list[SchedulingResult] = []

    def submit(
        self,
        queue: str,
        n: int = 1,
        *,
        cpu: float = 1,
        memory_gi: float = 1,
        gpu: int = 0,
        priority_class: str = "armada-default",
        priority: int = 0,
        gang: Gang | None = None,
        **req: Any,
    ) -> list[str]:
        resources = {"cpu": int(cpu * CPU), "memory": int(memory_gi * GI)}
        if gpu:
            resources["nvidia.com/gpu"] = gpu * 1000
        ids = []
        sequences = []
        for _ in range(n):
            job_id = f"{queue}-{next(self._ids):05d}"
            spec = job_spec(
                job_id,
                queue=queue,
                priority=priority,
                gang=gang,
                submitted=self.now,
                requirements=requirements(
                    resources=resources, priority_class=priority_class, **req
                ),
            )
            sequences.append(
                ev.EventSequence(
                    queue=queue,
                    job_set="set",
                    user="u",
                    created=self.now,
                    events=[ev.SubmitJob(spec=spec)],
                )
            )
            ids.append(job_id)
            self.now += 0.001
        report = self.db.apply(sequences)
        assert not report.notes
        return ids

    def apply(self, *events: ev.Event) -> None:
        self.db.apply(
            [
                ev.EventSequence(
                    queue="q", job_set="s", user="u", created=self.now, events=list(events)
                )
            ]
        )

    def snapshot(self) -> SchedulingSnapshot:
        return SchedulingSnapshot(
            jobs=self.db.read(),
            nodes=self.nodes,
            queues=self.queues,
            now=self.now,
            cordoned_executors=self.cordoned,
            rate_limits=self.rate_limits,
            cycle=self.cycle,
        )

    def round(self, *, advance: float = 1.0, monotonic: Any = None) -> SchedulingResult:
        self.now += advance
        self.cycle += 1
        result = schedule(self.snapshot(), self.settings, monotonic=monotonic or FakeMonotonic())
        self.rate_limits = result.rate_limits
        events: list[ev.Event] = []
        for p in result.preemptions:
            events.append(ev.JobRunPreempted(job_id=p.job_id, run_id=p.run_id, reason=p.reason))
        for lease in result.leases:
            events.append(
                ev.JobRunLeased(
                    job_id=lease.job_id,
                    run_id=f"run-{next(self._runs):06d}",
                    executor=lease.executor,
                    node=lease.node,
                    pool=lease.pool,
                    scheduled_at_priority=lease.scheduled_at_priority,
                    gang_uniformity_value=lease.gang_uniformity_value,
                )
            )
        if events:
            report = self.db.apply(
                [
                    ev.EventSequence(
                        queue="q", job_set="s", user="scheduler", created=self.now, events=events
                    )
                ]
            )
            assert not report.notes, report.notes
        self.db.validate()
        self.results.append(result)
        return result

    def running_on(self) -> dict[str, str]:
        """job id -> node name of every job with an active run."""
        out = {}
        for job in self.db.read().jobs():
            run = job.active_run
            if run is not None:
                out[job.job_id] = run.node
        return out

    def queued(self) -> set[str]:
        return {j.job_id for j in self.db.read().jobs() if j.active_run is None}

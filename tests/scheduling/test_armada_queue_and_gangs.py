"""Armada's queue and gang scheduler tests (``queue_scheduler_test.go``,
``gang_scheduler_test.go``), as data: one round each, on an empty pool.

Armada's tables number jobs across all queues and gangs in one list; here indices are per
queue (as in its preempting-scheduler tables), and a gang's index is that of its members.
Armada's queue scheduler runs without fair-share eviction; on an empty pool ours evicts
nothing either.

Not ported, because the core lacks the feature (see docs/scheduling.md, "Differences"):
"should scheduled largest job first - prioritiseLargerJobs enabled" (no larger-first
ordering); "fairness two queues with initial allocation" (allocation held outside the
pool); "preempt used resources of lower-priority jobs" (non-Armada usage is not held at a
priority); "taints and tolerations (indexed)", "Node selector (indexed)", "NodeUniformityLabel
set but not indexed" (no label/taint indexing: every label and taint counts);
"floating resources", "floating resources - away jobs", "AwayNodeTypes", "Home-away
scheduling" (no floating resources, no away scheduling); the preemption-rate-limit,
timeout and iterator tests (Armada internals, or features we lack).
"""

from __future__ import annotations

import pytest

from armada.domain.jobs import NodeSelectorRequirement, NodeSelectorTerm
from armada.domain.queues import ResourceFractionLimits
from armada.scheduling import Node
from tests.scheduling.armada_tables import (
    AB,
    PC0,
    PC1,
    PC2,
    PC3,
    Case,
    Jobs,
    Round,
    gang,
    jobs,
    large,
    nodes32,
    per_class_cpu_limits,
    replay,
    span,
)
from tests.scheduling.world import CPU, GI, node

A = {"A": 1.0}


def one_round(
    nodes: list[Node],
    submit: list[Jobs],
    scheduled: dict[str, list[int]],
    queues: dict[str, float] | None = None,
    **settings: object,
) -> Case:
    return Case(
        nodes=nodes,
        queues=queues or A,
        settings=settings,
        rounds=[Round(submit, scheduled=scheduled)],
    )


def used(nodes: list[Node], **resources: int) -> list[Node]:
    """Armada's ``WithUsedResourcesNodes``: resources held by pods Armada does not manage."""
    return [
        Node(
            executor=n.executor,
            name=n.name,
            pool=n.pool,
            allocatable=n.allocatable,
            labels=n.labels,
            taints=n.taints,
            non_armada_allocated=resources,
        )
        for n in nodes
    ]


def gpu_nodes(n: int) -> list[Node]:
    """Armada's ``N8GpuNodes``: 64 CPUs, 1024Gi, 8 GPUs, labelled gpu=true."""
    return [node("", cpu=64, memory_gi=1024, gpu=8, labels={"gpu": "true"}) for _ in range(n)]


def gpu_jobs(queue: str, n: int) -> Jobs:
    """Armada's ``N1GpuJobs``: 8 CPUs, 128Gi, 1 GPU."""
    return jobs(queue, PC0, n, cpu=8, memory_gi=128, gpu=1)


def n16(queue: str, priority_class: str, n: int) -> Jobs:
    return jobs(queue, priority_class, n, cpu=16, memory_gi=128)


NOT_IN = (
    NodeSelectorTerm(
        match_expressions=(
            NodeSelectorRequirement(key="key", operator="NotIn", values=("val1", "val2")),
        )
    ),
)

QUEUE_CASES: dict[str, Case] = {
    "simple success": one_round(nodes32(1), [jobs("A", PC0, 32)], {"A": span(0, 31)}),
    "simple failure": one_round(nodes32(1), [jobs("A", PC0, 33)], {"A": span(0, 31)}),
    "multiple nodes": one_round(nodes32(2), [jobs("A", PC0, 64)], {"A": span(0, 63)}),
    "preempt lower-priority jobs": one_round(
        nodes32(1), [jobs("A", PC0, 1), jobs("A", PC1, 1)], {"A": [0, 1]}
    ),
    "no preemption of higher-priority jobs": one_round(
        nodes32(1), [large("A", PC1, 1), jobs("A", PC0, 1)], {"A": [0]}
    ),
    "unschedulable jobs do not block schedulable jobs": one_round(
        nodes32(1), [jobs("A", PC0, 1), large("A", PC0, 10), jobs("A", PC0, 1)], {"A": [0, 11]}
    ),
    "MaximumSchedulingBurst": one_round(
        nodes32(1),
        [jobs("A", PC0, 1), large("A", PC0, 10), jobs("A", PC0, 4)],
        {"A": [0, 11]},
        maximum_scheduling_rate=10.0,
        maximum_scheduling_burst=2,
    ),
    "MaximumPerQueueSchedulingBurst": one_round(
        nodes32(1),
        [jobs("A", PC0, 1), large("A", PC0, 10), jobs("A", PC0, 3), jobs("B", PC0, 1)],
        {"A": [0, 11], "B": [0]},
        queues=AB,
        maximum_per_queue_scheduling_rate=10.0,
        maximum_per_queue_scheduling_burst=2,
    ),
    # Issue 15, point 3: a gang needing more tokens than are left is skipped, not the round.
    "MaximumSchedulingBurst is not exceeded by gangs": one_round(
        nodes32(1),
        [jobs("A", PC0, 1), large("A", PC0, 1), gang(jobs("A", PC0, 2)), jobs("A", PC0, 2)],
        {"A": [0, 4]},
        maximum_scheduling_rate=10.0,
        maximum_scheduling_burst=2,
    ),
    "MaximumPerQueueSchedulingBurst is not exceeded by gangs": one_round(
        nodes32(1),
        [jobs("A", PC0, 1), large("A", PC0, 1), gang(jobs("A", PC0, 2)), jobs("A", PC0, 2)],
        {"A": [0, 4]},
        maximum_per_queue_scheduling_rate=10.0,
        maximum_per_queue_scheduling_burst=2,
    ),
    # Issue 15, point 4: 17 of 32 at 0.5, Armada's "one past the cap".
    "MaximumResourceFractionToSchedule": one_round(
        nodes32(1),
        [jobs("A", PC0, 32)],
        {"A": span(0, 16)},
        maximum_resource_fraction_to_schedule={"cpu": 0.5},
    ),
    "PerPriorityLimits": one_round(
        nodes32(1),
        [
            jobs("A", PC0, 1),
            jobs("A", PC0, 2),
            jobs("A", PC1, 2),
            jobs("A", PC1, 3),
            jobs("A", PC2, 3),
            jobs("A", PC2, 3),
            jobs("A", PC3, 4),
            jobs("A", PC3, 4),
            jobs("A", PC0, 1),
        ],
        {"A": [0, 3, 4, 8, 9, 10, 14, 15, 16, 17]},
        priority_classes=per_class_cpu_limits(),
    ),
    "per queue, resource class, and pool cpu limit": Case(
        nodes=nodes32(1),
        queues=A,
        queue_limits={
            "A": {
                PC0: ResourceFractionLimits(
                    maximum_resource_fraction_by_pool={"default": {"cpu": 0.5, "memory": 1.0}}
                )
            }
        },
        rounds=[Round([jobs("A", PC0, 32)], scheduled={"A": span(0, 15)})],
    ),
    "should scheduled smallest job first - prioritiseLargerJobs disabled": one_round(
        nodes32(1),
        [n16("A", PC0, 32), jobs("B", PC0, 32)],
        {"B": [0]},
        queues=AB,
        maximum_scheduling_rate=1.0,
        maximum_scheduling_burst=1,
    ),
    "fairness two queues": one_round(
        nodes32(1),
        [jobs("A", PC0, 32), jobs("B", PC0, 32)],
        {"A": span(0, 15), "B": span(0, 15)},
        queues=AB,
    ),
    "fairness three queues": one_round(
        nodes32(1),
        [jobs(q, PC0, 32) for q in "ABC"],
        {"A": span(0, 10), "B": span(0, 10), "C": span(0, 9)},
        queues={"A": 1.0, "B": 1.0, "C": 1.0},
    ),
    "weighted fairness two queues": one_round(
        nodes32(3),
        [jobs("A", PC0, 96), jobs("B", PC0, 96)],
        {"A": span(0, 63), "B": span(0, 31)},
        queues={"A": 1.0, "B": 2.0},
    ),
    "weighted fairness three queues": one_round(
        nodes32(3),
        [jobs(q, PC0, 96) for q in "ABC"],
        {"A": span(0, 59), "B": span(0, 29), "C": span(0, 5)},
        queues={"A": 1.0, "B": 2.0, "C": 10.0},
    ),
    "node with no available capacity": one_round(
        used(nodes32(1), cpu=32 * CPU), [jobs("A", PC0, 1)], {}
    ),
    "node with some available capacity": one_round(
        used(nodes32(1), cpu=31 * CPU), [jobs("A", PC0, 2)], {"A": [0]}
    ),
    "respect taints": one_round(
        nodes32(1, tainted=True), [jobs("A", PC0, 1), large("A", PC0, 1)], {"A": [1]}
    ),
    "taints and tolerations": one_round(
        nodes32(1, tainted=True), [jobs("A", PC0, 1), large("A", PC0, 1)], {"A": [1]}
    ),
    "Node selector": one_round(
        [*nodes32(1), *nodes32(1, foo="foo")],
        [large("A", PC0, 2, node_selector={"foo": "foo"})],
        {"A": [0]},
    ),
    "MaxQueueLookback": one_round(
        nodes32(1),
        [jobs("A", PC0, 1), large("A", PC0, 3), jobs("A", PC0, 1)],
        {"A": [0]},
        max_queue_lookback=3,
    ),
    "gang success": one_round(nodes32(2), [gang(large("A", PC0, 2))], {"A": [0, 1]}),
    "non-consecutive gang success": one_round(
        nodes32(3),
        [
            gang(large("A", PC0, 1), gang_id="my-gang", cardinality=2),
            jobs("A", PC0, 1),
            gang(large("A", PC0, 1), gang_id="my-gang", cardinality=2),
        ],
        {"A": [0, 1, 2]},
    ),
    "gang failure": one_round(nodes32(2), [gang(large("A", PC0, 3))], {}),
    # Issue 15, point 5: the gang is offered at its last member, after the ordinary job.
    "non-consecutive gang failure": one_round(
        nodes32(2),
        [
            gang(large("A", PC0, 1), gang_id="my-gang", cardinality=2),
            jobs("A", PC0, 1),
            gang(large("A", PC0, 1), gang_id="my-gang", cardinality=2),
        ],
        {"A": [1]},
    ),
    "job priority": one_round(
        nodes32(1),
        [large("A", PC0, 1, priority=p) for p in (10, 1, 20)],
        {"A": [1]},
    ),
    "nodeAffinity node notIn": one_round(
        [*nodes32(1, key="val1"), *nodes32(1, key="val2"), *nodes32(1, key="val3"), *nodes32(1)],
        [large("A", PC0, 3, affinity=NOT_IN)],
        {"A": [0, 1]},
    ),
}


def _gangs(*batches: Jobs) -> list[Jobs]:
    return [gang(b) for b in batches]


GANG_CASES: dict[str, Case] = {
    "simple success": one_round(nodes32(1), _gangs(jobs("A", PC0, 32)), {"A": span(0, 31)}),
    "simple failure": one_round(nodes32(1), _gangs(jobs("A", PC0, 33)), {}),
    "one success and one failure": one_round(
        nodes32(1), _gangs(jobs("A", PC0, 32), jobs("A", PC0, 1)), {"A": span(0, 31)}
    ),
    "multiple nodes": one_round(nodes32(2), _gangs(jobs("A", PC0, 64)), {"A": span(0, 63)}),
    "MaximumResourceFractionToSchedule": one_round(
        nodes32(1),
        _gangs(jobs("A", PC0, 8), jobs("A", PC0, 16), jobs("A", PC0, 8)),
        {"A": span(0, 23)},
        maximum_resource_fraction_to_schedule={"cpu": 0.5},
    ),
    "MaximumResourceFractionToScheduleByPool": one_round(
        nodes32(1),
        _gangs(*[jobs("A", PC0, 1) for _ in range(5)]),
        {"A": span(0, 2)},
        maximum_resource_fraction_to_schedule={"cpu": 0.5},
        pools={"default": {"maximum_resource_fraction_to_schedule": {"cpu": 2 / 32}}},
    ),
    "MaximumResourceFractionToScheduleByPool non-existing pool": one_round(
        nodes32(1),
        _gangs(*[jobs("A", PC0, 1) for _ in range(5)]),
        {"A": span(0, 3)},
        maximum_resource_fraction_to_schedule={"cpu": 3 / 32},
        pools={"this does not exist": {"maximum_resource_fraction_to_schedule": {"cpu": 2 / 32}}},
    ),
    "MaximumResourceFractionPerQueue": one_round(
        nodes32(1),
        _gangs(
            jobs("A", PC0, 1),
            jobs("A", PC0, 2),
            jobs("A", PC1, 2),
            jobs("A", PC1, 3),
            jobs("A", PC2, 3),
            jobs("A", PC2, 4),
            jobs("A", PC3, 4),
            jobs("A", PC3, 5),
        ),
        # gangs 0, 2, 4 and 6: jobs 0, 3-4, 8-10, 15-18
        {"A": [0, 3, 4, 8, 9, 10, 15, 16, 17, 18]},
        priority_classes=per_class_cpu_limits(),
    ),
    "resolution has no impact on jobs of size a multiple of the resolution": one_round(
        nodes32(3),
        _gangs(*[n16("A", PC0, 1) for _ in range(6)]),
        {"A": span(0, 5)},
        indexed_resources={"cpu": "16", "memory": "128Mi"},
    ),
    "jobs of size not a multiple of the resolution blocks scheduling new jobs": one_round(
        nodes32(3),
        _gangs(*[n16("A", PC0, 1) for _ in range(4)]),
        {"A": span(0, 2)},
        indexed_resources={"cpu": "17", "memory": "128Mi"},
    ),
    "consider all nodes in the bucket": one_round(
        [
            *used(gpu_nodes(1), cpu=31_500, memory=512 * GI, **{"nvidia.com/gpu": 8 * 1000}),
            *used(gpu_nodes(1), cpu=32 * CPU),
        ],
        _gangs(gpu_jobs("A", 1)),
        {"A": [0]},
        indexed_resources={"cpu": "1", "memory": "1Mi", "nvidia.com/gpu": "1"},
    ),
    "NodeUniformityLabel not set": one_round(
        nodes32(1), [gang(n16("A", PC0, 2), uniformity="foo")], {}
    ),
    "NodeUniformityLabel insufficient capacity": one_round(
        [*nodes32(1, foo="foov1"), *nodes32(1, foo="foov2")],
        [gang(n16("A", PC0, 3), uniformity="foo")],
        {},
    ),
    "NodeUniformityLabel": one_round(
        [
            *used(nodes32(2, foo="foov1"), cpu=CPU),
            *nodes32(2, foo="foov2"),
            *used(nodes32(2, foo="foov3"), cpu=CPU),
        ],
        [gang(n16("A", PC0, 4), uniformity="foo")],
        {"A": span(0, 3)},
    ),
    "NodeUniformityLabel NumScheduled tiebreak": one_round(
        [*nodes32(2, u="a"), *nodes32(3, u="b")],
        [gang(large("A", PC0, 3), uniformity="u")],
        {"A": span(0, 2)},
    ),
    "Hitting queue constraint does not make job scheduling key unfeasible": one_round(
        nodes32(1),
        _gangs(jobs("A", PC0, 2), jobs("A", PC0, 1), jobs("B", PC0, 1)),
        {"A": [0, 1], "B": [0]},
        queues=AB,
        maximum_per_queue_scheduling_rate=2.0,
        maximum_per_queue_scheduling_burst=2,
    ),
    "Hitting globally applicable constraint makes job scheduling key unfeasible": one_round(
        nodes32(1), _gangs(gpu_jobs("A", 1), gpu_jobs("B", 1)), {}, queues=AB
    ),
}


@pytest.mark.parametrize("name", sorted(QUEUE_CASES))
def test_armada_queue_scheduler_case(name: str) -> None:
    replay(QUEUE_CASES[name])


@pytest.mark.parametrize("name", sorted(GANG_CASES))
def test_armada_gang_scheduler_case(name: str) -> None:
    results = replay(GANG_CASES[name])
    if name == "NodeUniformityLabel NumScheduled tiebreak":
        assert {lease.gang_uniformity_value for lease in results[0].leases} == {"b"}
    if name == "NodeUniformityLabel":
        assert {lease.gang_uniformity_value for lease in results[0].leases} == {"foov2"}

"""Armada's preempting scheduler tests (``preempting_queue_scheduler_test.go``), as data.

Each case keeps Armada's name, fixtures and expected indices (see ``armada_tables``).

Not ported, because the core lacks the feature (see docs/scheduling.md, "Differences"):
"optimiser"; "away scheduling stability", "gang scheduled - away", "gang scheduled - mixed
home and away", "gang scheduled mixed home and away - preempted in same round" and the five
"home-away preemption ..." cases (away scheduling); ``TestPreemptingQueueScheduler_
RespectNodePodLimits`` (no pod-count resource); ``TestPreemptingQueueScheduler_
CrossPoolPreemptedFirst`` (away jobs); "gang preemption avoid cascading preemption" (its
second gang mixes priority classes, which our gangs refuse); the timeout, eviction-helper and
benchmark functions (they test Armada's internals, not outcomes).
"""

from __future__ import annotations

import pytest

from armada.domain.jobs import NodeSelectorRequirement, NodeSelectorTerm
from tests.scheduling.armada_tables import (
    AB,
    ABC,
    PC0,
    PC1,
    PC2,
    PC2_NP,
    PC3,
    Case,
    Round,
    gang,
    jobs,
    large,
    nodes32,
    per_class_cpu_limits,
    replay,
    span,
)


def _balancing_weighted(queues: dict[str, float]) -> Case:
    return Case(
        nodes=nodes32(1),
        queues=queues,
        rounds=[
            Round([jobs("A", PC0, 32)], scheduled={"A": span(0, 31)}),
            Round(
                [jobs("B", PC0, 32)],
                scheduled={"B": span(0, 20)},
                preempted={"A": {0: span(11, 31)}},
            ),
            Round([jobs("A", PC0, 1), jobs("B", PC0, 1)]),
        ],
    )


def _no_preemption_without_fairness_gain(first: str, second: str) -> Case:
    return Case(
        nodes=nodes32(1),
        queues=AB,
        rounds=[
            Round([jobs(first, PC0, 32)], scheduled={first: span(0, 31)}),
            Round([large(second, PC0, 1)]),
        ],
    )


def _reschedule_onto_same_node(first: str, second: str) -> Case:
    return Case(
        nodes=nodes32(2),
        queues=AB,
        rounds=[
            Round([jobs(first, PC0, 32)], scheduled={first: span(0, 31)}),
            Round([jobs(second, PC0, 32)], scheduled={second: span(0, 31)}),
            Round(),
        ],
    )


def _protected(fraction: float, queues: dict[str, float], a: int, b: int, **last: object) -> Case:
    return Case(
        nodes=nodes32(1),
        queues=queues,
        settings={"protected_fraction_of_fair_share": fraction},
        rounds=[
            Round([jobs("A", PC0, a)], scheduled={"A": span(0, a - 1)}),
            Round([jobs("B", PC3, b)], scheduled={"B": span(0, b - 1)}),
            Round([jobs("C", PC0, 1)], **last),  # type: ignore[arg-type]
            Round(),
        ],
    )


NOT_IN = (
    NodeSelectorTerm(
        match_expressions=(
            NodeSelectorRequirement(key="key", operator="NotIn", values=("val1", "val2")),
        )
    ),
)

CASES: dict[str, Case] = {
    "balancing three queues": Case(
        nodes=nodes32(1),
        queues=ABC,
        rounds=[
            Round([jobs("A", PC0, 32)], scheduled={"A": span(0, 31)}),
            Round(
                [jobs("B", PC0, 32)],
                scheduled={"B": span(0, 15)},
                preempted={"A": {0: span(16, 31)}},
            ),
            Round(
                [jobs("C", PC0, 10)],
                scheduled={"C": span(0, 9)},
                preempted={"A": {0: span(11, 15)}, "B": {1: span(11, 15)}},
            ),
            Round([jobs("A", PC0, 1), jobs("B", PC0, 1), jobs("C", PC0, 1)]),
        ],
    ),
    "balancing two queues weighted": _balancing_weighted({"A": 2.0, "B": 1.0}),
    "balancing two queues weighted with inactive queues": _balancing_weighted(
        {"A": 2.0, "B": 1.0, "C": 1.0, "D": 100.0}
    ),
    "don't prempt jobs where we don't know the queue": Case(
        nodes=nodes32(1),
        queues={"A": 1.0},
        running={0: [jobs("B", PC1, 8)]},
        rounds=[Round([jobs("A", PC1, 32)], scheduled={"A": span(0, 23)})],
    ),
    "avoid preemption when not improving fairness": _no_preemption_without_fairness_gain("A", "B"),
    "avoid preemption when not improving fairness reverse queue naming": (
        _no_preemption_without_fairness_gain("B", "A")
    ),
    "preemption when improving fairness": Case(
        nodes=nodes32(2),
        queues=AB,
        rounds=[
            Round([jobs("A", PC0, 64)], scheduled={"A": span(0, 63)}),
            Round(
                [large("B", PC0, 1)],
                scheduled={"B": [0]},
                preempted={"A": {0: span(32, 63)}},
            ),
        ],
    ),
    "reschedule onto same node": _reschedule_onto_same_node("A", "B"),
    "reschedule onto same node reverse order": _reschedule_onto_same_node("B", "A"),
    "rescheduled jobs don't count towards global scheduling rate limit": Case(
        nodes=nodes32(1),
        queues={"A": 1.0},
        settings={"maximum_scheduling_rate": 2.0, "maximum_scheduling_burst": 5},
        rounds=[
            Round([jobs("A", PC0, 10)], scheduled={"A": span(0, 4)}),
            Round([jobs("A", PC0, 10)], scheduled={"A": span(0, 1)}),
        ],
    ),
    "MaximumSchedulingRate": Case(
        nodes=nodes32(1),
        queues={"A": 1.0},
        settings={"maximum_scheduling_rate": 2.0, "maximum_scheduling_burst": 4},
        rounds=[
            Round([gang(jobs("A", PC0, 6))]),
            Round([jobs("A", PC0, 10)], scheduled={"A": span(0, 3)}),
            Round([jobs("A", PC0, 10)], scheduled={"A": span(0, 1)}),
            Round([jobs("A", PC0, 10)], scheduled={"A": span(0, 1)}),
        ],
    ),
    "rescheduled jobs don't count towards maxQueueLookback": Case(
        nodes=nodes32(1),
        queues={"A": 1.0},
        settings={"max_queue_lookback": 5},
        rounds=[
            Round([jobs("A", PC0, 2)], scheduled={"A": span(0, 1)}),
            Round([jobs("A", PC0, 10)], scheduled={"A": span(0, 4)}),
        ],
    ),
    "rescheduled jobs don't count towards MaximumClusterFractionToSchedule": Case(
        nodes=nodes32(1),
        queues={"A": 1.0},
        settings={"maximum_resource_fraction_to_schedule": {"cpu": 5 / 32}},
        rounds=[
            Round([jobs("A", PC0, 10)], scheduled={"A": span(0, 5)}),
            Round([jobs("A", PC0, 10)], scheduled={"A": span(0, 5)}),
        ],
    ),
    "MaximumResourceFractionPerQueue": Case(
        nodes=nodes32(1),
        queues={"A": 1.0},
        settings={"priority_classes": per_class_cpu_limits()},
        rounds=[
            Round(
                [
                    jobs("A", PC0, 32),
                    jobs("A", PC1, 32),
                    jobs("A", PC2, 32),
                    jobs("A", PC3, 32),
                    jobs("A", PC0, 32),
                ],
                scheduled={"A": [0, 32, 33, 64, 65, 66, 96, 97, 98, 99]},
            ),
            Round([jobs("A", PC0, 1)]),
        ],
    ),
    "MaximumResourceFractionPerQueue multiple rounds": Case(
        nodes=nodes32(1),
        queues={"A": 1.0},
        settings={"priority_classes": per_class_cpu_limits()},
        rounds=[
            Round([jobs("A", PC0, 32)], scheduled={"A": [0]}),
            Round([jobs("A", PC1, 32), jobs("A", PC0, 32)], scheduled={"A": span(0, 1)}),
            Round(
                [jobs("A", PC2, 32), jobs("A", PC1, 32), jobs("A", PC0, 32)],
                scheduled={"A": span(0, 2)},
            ),
            Round(
                [jobs("A", c, 32) for c in (PC3, PC2, PC1, PC0)],
                scheduled={"A": span(0, 3)},
            ),
            Round([jobs("A", c, 32) for c in (PC3, PC2, PC1, PC0)]),
        ],
    ),
    # Issue 15, point 4: Armada stops once the amount scheduled exceeds the cap.
    "MaximalClusterFractionToSchedule": Case(
        nodes=nodes32(2),
        queues=AB,
        settings={"maximum_resource_fraction_to_schedule": {"cpu": 15 / 64}},
        rounds=[
            Round([jobs("B", PC0, 64)], scheduled={"B": span(0, 15)}),
            Round([jobs("A", PC0, 64), jobs("B", PC0, 64)], scheduled={"A": span(0, 15)}),
            Round(
                [jobs("A", PC0, 64), jobs("B", PC0, 64)],
                scheduled={"A": span(0, 7), "B": span(0, 7)},
            ),
            Round(
                [jobs("A", PC0, 64), jobs("B", PC0, 64)],
                scheduled={"A": span(0, 7), "B": span(0, 7)},
            ),
        ],
    ),
    "Cordoning prevents scheduling new jobs but not re-scheduling running jobs": Case(
        nodes=nodes32(1),
        queues=AB,
        rounds=[
            Round([jobs("A", PC1, 1)], scheduled={"A": [0]}),
            Round([jobs("B", PC1, 1)], cordon=[0]),
            Round([jobs("B", PC1, 1)]),
            Round(),
        ],
    ),
    "ProtectedFractionOfFairShare": _protected(1.0, {"A": 1.0, "B": 1.0, "C": 1.0}, 10, 22),
    "ProtectedFractionOfFairShare at limit": _protected(0.5, {"A": 0.5, "B": 1.0, "C": 1.0}, 8, 24),
    "ProtectedFractionOfFairShare above limit": _protected(
        0.5,
        {"A": 1.0, "B": 1.0, "C": 1.0},
        9,
        23,
        scheduled={"C": [0]},
        preempted={"A": {0: [8]}},
    ),
    "ProtectedFractionOfFairShare reshared": Case(
        nodes=nodes32(1),
        queues={"A": 1.0, "B": 1.0, "C": 1.0, "D": 1.0},
        settings={"protected_fraction_of_fair_share": 1.0},
        rounds=[
            Round(
                [jobs("A", PC2_NP, 16), jobs("B", PC0, 11), jobs("C", PC0, 3), jobs("D", PC0, 2)],
                scheduled={"A": span(0, 15), "B": span(0, 10), "C": span(0, 2), "D": [0, 1]},
            ),
            Round([jobs("D", PC0, 1)]),
            Round(),
        ],
    ),
    "ProtectedFractionOfFairShare non equal weights": Case(
        nodes=nodes32(1),
        queues={"A": 1.0, "B": 2.0, "C": 1.0},
        settings={"protected_fraction_of_fair_share": 1.0},
        rounds=[
            Round(
                [jobs("A", PC2_NP, 24), jobs("B", PC0, 8)],
                scheduled={"A": span(0, 23), "B": span(0, 7)},
            ),
            Round([jobs("C", PC0, 1)]),
            Round(),
        ],
    ),
    "DominantResourceFairness": Case(
        nodes=nodes32(1),
        queues=AB,
        rounds=[
            Round(
                [jobs("A", PC0, 32, memory_gi=16), jobs("B", PC0, 32)],
                scheduled={"A": span(0, 9), "B": span(0, 21)},
            ),
            Round(),
        ],
    ),
    "nodeAffinity node notIn": Case(
        nodes=[
            *nodes32(1, key="val1"),
            *nodes32(1, key="val2"),
            *nodes32(1, key="val3"),
            *nodes32(1),
        ],
        queues={"A": 1.0},
        rounds=[Round([large("A", PC0, 3, affinity=NOT_IN)], scheduled={"A": [0, 1]})],
    ),
    "SchedulingKey incorrect re-use": Case(
        nodes=nodes32(2),
        queues=ABC,
        rounds=[
            Round(
                [jobs("A", PC0, 32), jobs("B", PC0, 32)],
                scheduled={"A": span(0, 31), "B": span(0, 31)},
            ),
            Round(
                [jobs("C", PC0, 32)],
                scheduled={"C": span(0, 20)},
                preempted={"A": {0: span(22, 31)}, "B": {0: span(21, 31)}},
            ),
        ],
    ),
    "SchedulingKey incorrect re-use with cordoning": Case(
        nodes=nodes32(1),
        queues=AB,
        rounds=[
            Round([jobs("A", PC0, 32)], scheduled={"A": span(0, 31)}),
            Round([jobs("B", PC0, 1)], cordon=[0]),
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_armada_preempting_scheduler_case(name: str) -> None:
    replay(CASES[name])

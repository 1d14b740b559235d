"""Armada's scheduling-algorithm tests (``scheduling_algo_test.go``, ``TestSchedule``), as data.

Armada's executors there hold one 32-CPU node each (``test1Node32CoreExecutor``); running
jobs are given per executor and node, and their preempted indices here are under round -1.

Not ported: the reconciliation cases, "do not schedule onto stale executors" and the two
unacknowledged-jobs cases (the scheduler service decides which executors a round sees, not
the core); the home-away, cross-pool, mixed-pool-cluster and disallowed-resource cases
(features we lack); "no executors" and "no queued jobs" (nothing to assert on the core);
"one executor full" (no outcome stated); "reschedules all jobs onto overallocated node"
(Armada puts every evicted job back on its node without checking that it still fits; we put
back only what fits and preempt the rest, see docs/scheduling.md, "Differences").
"""

from __future__ import annotations

from typing import Any

import pytest

from armada.config.scheduling import PriorityClassSettings
from armada.scheduling import Node
from tests.scheduling import armada_tables as tables
from tests.scheduling.armada_tables import PC0, PC1, PC3, gang, jobs, nodes32, replay, span


def executors(n: int) -> list[Node]:
    """``n`` executors of one 32-CPU node each, labelled with their cluster."""
    return [
        node
        for i in range(n)
        for node in nodes32(1, executor=f"executor{i + 1}", cluster=f"executor{i + 1}")
    ]


def n16(queue: str, priority_class: str, n: int, **kw: object) -> tables.Jobs:
    return jobs(queue, priority_class, n, cpu=16, memory_gi=128, **kw)


PC3_HALF = {
    **tables.ARMADA_CLASSES,
    PC3: PriorityClassSettings(
        priority=3, preemptible=False, maximum_resource_fraction_per_queue={"cpu": 0.5}
    ),
}
A_B_HEAVY = {"A": 0.01, "B": 0.01}


def case(
    nodes: list[Node],
    queues: dict[str, float],
    submit: list[tables.Jobs],
    scheduled: dict[str, list[int]],
    *,
    running: list[tables.Jobs] | None = None,
    preempted: dict[str, list[int]] | None = None,
    cordoned: frozenset[str] = frozenset(),
    **settings: Any,
) -> tables.Case:
    return tables.Case(
        nodes=nodes,
        queues=queues,
        settings=settings,
        running={0: running} if running else {},
        cordoned_queues=cordoned,
        rounds=[
            tables.Round(
                submit,
                scheduled=scheduled,
                preempted={q: {-1: v} for q, v in (preempted or {}).items()},
            )
        ],
    )


def per_queue_cap(running: int, scheduled: list[int]) -> tables.Case:
    """PC3 capped at half the pool per queue, ``running`` 16-CPU jobs already held."""
    return case(
        executors(2),
        {"A": 1.0},
        [n16("A", PC3, 10)],
        {"A": scheduled} if scheduled else {},
        running=[n16("A", PC3, running)],
        priority_classes=PC3_HALF,
    )


def to_fair_share(preempts: bool = True, **settings: Any) -> tables.Case:
    """B holds the node; A (same weight) arrives: one of B's jobs gives way."""
    return case(
        executors(1),
        A_B_HEAVY,
        [n16("A", PC0, 2)],
        {"A": [0]} if preempts else {},
        running=[n16("B", PC0, 2)],
        preempted={"B": [1]} if preempts else None,
        **settings,
    )


def urgency_in_queue(**settings: Any) -> tables.Case:
    """A's priority-1 jobs take the place of its running priority-0 job."""
    return case(
        executors(1),
        {"A": 1.0},
        [n16("A", PC1, 2)],
        {"A": [0, 1]},
        running=[n16("A", PC0, 1)],
        preempted={"A": [0]},
        **settings,
    )


def gang_gives_way(priority_class: str) -> tables.Case:
    return case(
        executors(1),
        {"queue1": 0.01, "queue2": 0.01},
        [n16("queue2", priority_class, 1)],
        {"queue2": [0]},
        running=[gang(n16("queue1", PC0, 2))],
        preempted={"queue1": [0, 1]},
    )


def beside_paused(n: int) -> tables.Case:
    return case(
        executors(n),
        {"A": 1.0, "B": 1.0},
        [n16("A", PC3, 10), n16("B", PC3, 10)],
        {"A": span(0, 2 * n - 1)},
        cordoned=frozenset({"B"}),
    )


CASES: dict[str, tables.Case] = {
    "Fair share": case(
        executors(2),
        {"A": 100.0, "B": 300.0},
        [n16("A", PC3, 10), n16("B", PC3, 10)],
        {"A": [0, 1, 2], "B": [0]},
    ),
    "MaximumResourceFractionPerQueue hit before scheduling": per_queue_cap(2, []),
    "MaximumResourceFractionPerQueue hit during scheduling": per_queue_cap(1, [0]),
    "computation of allocated resources does not confuse priority class with per-queue "
    "priority": case(
        executors(1),
        {"A": 1.0},
        [n16("A", PC3, 1, priority=1)],
        {},
        running=[n16("A", PC3, 1, priority=0)],
        priority_classes=PC3_HALF,
    ),
    "urgency-based preemption within a single queue": urgency_in_queue(),
    "urgency-based preemption between queues": case(
        executors(1),
        {"A": 1.0, "B": 1.0},
        [n16("B", PC1, 2)],
        {"B": [0, 1]},
        running=[n16("B", PC0, 1)],
        preempted={"B": [0]},
    ),
    "preemption to fair share": to_fair_share(),
    "no preemption when both strategies disabled": to_fair_share(
        False, enable_urgency_preemption=False, enable_fair_share_preemption=False
    ),
    "gang scheduling successful": case(
        executors(1), {"A": 0.01}, [gang(n16("A", PC0, 2))], {"A": [0, 1]}
    ),
    "not scheduling a gang that does not fit on any executor": case(
        executors(2), {"A": 0.01}, [gang(n16("A", PC0, 3), uniformity="cluster")], {}
    ),
    "Schedule gang job over multiple executors": case(
        executors(2), {"A": 1.0}, [gang(n16("A", PC0, 4))], {"A": span(0, 3)}
    ),
    "scheduling from paused queue": case(
        executors(2), {"A": 1.0}, [n16("A", PC3, 10)], {}, cordoned=frozenset({"A"})
    ),
    "multi-queue scheduling": case(
        executors(2),
        {"A": 1.0, "B": 1.0},
        [n16("A", PC3, 10), n16("B", PC3, 2)],
        {"A": [0, 1], "B": [0, 1]},
    ),
}


CASES["fair-share preemption still applies when only urgency-based preemption disabled"] = (
    to_fair_share(enable_urgency_preemption=False)
)
CASES["urgency-based preemption still applies when only fair-share preemption disabled"] = (
    urgency_in_queue(enable_fair_share_preemption=False)
)
# queue2's newcomer takes half the node from queue1's gang: by urgency (priority 1), or to
# restore fair share (same class); either way the whole gang goes.
CASES["urgency-based gang preemption"] = gang_gives_way(PC1)
# B is cordoned: A alone fills its nodes (two executors, then four).
CASES["multi-queue scheduling with paused and non-paused queue"] = beside_paused(2)
CASES["multi-queue scheduling with paused and non-paused queue large"] = beside_paused(4)
CASES["preemption to fair share evicting a gang"] = gang_gives_way(PC0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_armada_scheduling_algo_case(name: str) -> None:
    replay(CASES[name])

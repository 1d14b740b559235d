"""Armada's preempting scheduler tests on priority classes (``preempting_queue_scheduler_
test.go``): urgency preemption, non-preemptible classes, and fair-share eviction meeting
urgency in one round. The rest of that file's cases are in ``test_armada_preempting``.
"""

from __future__ import annotations

import pytest

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
    replay,
    span,
)
from tests.scheduling.world import node

URGENCY_CASES: dict[str, Case] = {
    "urgency-based preemption - gangs": Case(
        nodes=nodes32(1),
        queues=AB,
        rounds=[
            Round(
                [gang(jobs("A", PC0, 32)), gang(jobs("B", PC1, 32))],
                scheduled={"B": span(0, 31)},
            ),
            Round(),
        ],
    ),
    "urgency-based preemption stability": Case(
        nodes=nodes32(1),
        queues=AB,
        rounds=[
            Round([jobs("A", PC2, 33)], scheduled={"A": span(0, 31)}),
            Round([jobs("B", PC3, 1)], scheduled={"B": [0]}, preempted={"A": {0: [31]}}),
            Round([jobs("A", PC2, 1)]),
            Round(),
        ],
    ),
    "avoid urgency-based preemption when possible": Case(
        nodes=nodes32(2),
        queues={"A": 1.0},
        rounds=[
            Round([large("A", PC0, 1)], scheduled={"A": [0]}),
            Round([large("A", PC1, 1)], scheduled={"A": [0]}),
        ],
    ),
    "preempt in order of priority": Case(
        nodes=nodes32(2),
        queues={"A": 1.0},
        rounds=[
            Round([large("A", PC1, 1)], scheduled={"A": [0]}),
            Round([large("A", PC0, 1)], scheduled={"A": [0]}),
            Round([large("A", PC2, 1)], scheduled={"A": [0]}, preempted={"A": {1: [0]}}),
        ],
    ),
    "avoid urgency-based preemption when possible cross-queue": Case(
        nodes=nodes32(3),
        queues={"A": 1.0, "B": 1.0, "C": 1.0, "D": 1.0},
        rounds=[
            Round([large("A", PC1, 1)], scheduled={"A": [0]}),
            Round([large("B", PC0, 1)], scheduled={"B": [0]}),
            Round([large("C", PC2, 1)], scheduled={"C": [0]}),
            Round([large("D", PC3, 1)], scheduled={"D": [0]}, preempted={"B": {1: [0]}}),
        ],
    ),
    "gang preemption": Case(
        nodes=nodes32(2),
        queues=ABC,
        rounds=[
            Round(
                [jobs("A", PC0, 16), jobs("B", PC0, 16)],
                scheduled={"A": span(0, 15), "B": span(0, 15)},
            ),
            Round([gang(jobs("C", PC0, 32))], scheduled={"C": span(0, 31)}),
            Round(
                [jobs("A", PC1, 17)],
                scheduled={"A": span(0, 16)},
                preempted={"C": {1: span(0, 31)}},
            ),
        ],
    ),
    "priority class preemption two classes": Case(
        nodes=nodes32(1),
        queues={"A": 1.0},
        rounds=[
            Round([large("A", PC0, 1)], scheduled={"A": [0]}),
            Round([large("A", PC1, 1)], scheduled={"A": [0]}, preempted={"A": {0: [0]}}),
        ],
    ),
    "priority class preemption cross-queue": Case(
        nodes=nodes32(1),
        queues=AB,
        rounds=[
            Round([large("A", PC0, 1)], scheduled={"A": [0]}),
            Round([large("B", PC1, 1)], scheduled={"B": [0]}, preempted={"A": {0: [0]}}),
        ],
    ),
    "priority class preemption not scheduled": Case(
        nodes=nodes32(1),
        queues={"A": 1.0},
        rounds=[Round([large("A", PC0, 1), large("A", PC1, 1)], scheduled={"A": [1]})],
    ),
    # Issue 15, point 2: fair-share eviction and urgency preemption in one round.
    "priority class preemption through multiple levels": Case(
        nodes=nodes32(1),
        queues=ABC,
        rounds=[
            Round(
                [jobs("A", PC0, 16), jobs("B", PC1, 16)],
                scheduled={"A": span(0, 15), "B": span(0, 15)},
            ),
            Round(
                [jobs("C", PC2, 17)],
                scheduled={"C": span(0, 16)},
                preempted={"A": {0: span(0, 15)}, "B": {0: [15]}},
            ),
        ],
    ),
    "priority class preemption four classes": Case(
        nodes=nodes32(1),
        queues={"A": 1.0},
        rounds=[
            Round(
                [jobs("A", PC0, 10), jobs("A", PC1, 10), jobs("A", PC2, 10)],
                scheduled={"A": span(0, 29)},
            ),
            Round(
                [jobs("A", PC3, 24)],
                scheduled={"A": span(0, 23)},
                preempted={"A": {0: [*span(0, 19), 28, 29]}},
            ),
        ],
    ),
    "Queued jobs are not preempted cross queue": Case(
        nodes=nodes32(1),
        queues=AB,
        rounds=[
            Round([jobs("A", PC0, 32), jobs("B", PC1, 32)], scheduled={"B": span(0, 31)}),
            Round(),
        ],
    ),
    "Queued jobs are not preempted cross queue with some scheduled": Case(
        nodes=nodes32(1),
        queues=AB,
        rounds=[
            Round(
                [jobs("A", PC0, 32), jobs("B", PC1, 31)],
                scheduled={"A": [0], "B": span(0, 30)},
            ),
            Round(),
        ],
    ),
    "Queued jobs are not preempted cross queue with non-preemptible jobs": Case(
        nodes=nodes32(1),
        queues=AB,
        rounds=[
            Round([jobs("A", PC0, 32), jobs("B", PC3, 32)], scheduled={"B": span(0, 31)}),
            Round(),
        ],
    ),
    "Queued jobs are not preempted cross queue multiple rounds": Case(
        nodes=nodes32(1),
        queues=AB,
        rounds=[
            Round([jobs("A", PC1, 16)], scheduled={"A": span(0, 15)}),
            Round([jobs("A", PC0, 16), jobs("B", PC1, 32)], scheduled={"B": span(0, 15)}),
            Round(),
        ],
    ),
    "Oversubscribed eviction does not evict non-preemptible": Case(
        nodes=nodes32(2),
        queues=AB,
        rounds=[
            Round(
                [
                    jobs("A", PC2, 1, cpu=16, memory_gi=128),
                    jobs("A", PC2_NP, 3, cpu=16, memory_gi=128),
                ],
                scheduled={"A": span(0, 3)},
            ),
            Round(
                [
                    jobs("B", PC3, 1, cpu=16, memory_gi=128),
                    jobs("B", PC2_NP, 1, cpu=16, memory_gi=128),
                ],
                scheduled={"B": [0]},
                preempted={"A": {0: [0]}},
            ),
            Round(),
        ],
    ),
    # Issue 15, point 1 (TestPreemptingQueueScheduler_NonPreemptibleOverPack): a 5-CPU node
    # full of non-preemptible priority-2 jobs; a priority-3 job must wait, preempting nothing.
    "NonPreemptibleOverPack": Case(
        nodes=[node("", cpu=5, memory_gi=64)],
        queues={"A": 1.0},
        running={0: [jobs("A", PC2_NP, 5)]},
        rounds=[Round([jobs("A", PC3, 1)])],
    ),
}


@pytest.mark.parametrize("name", sorted(URGENCY_CASES))
def test_armada_urgency_case(name: str) -> None:
    replay(URGENCY_CASES[name])


def test_priority_inversion_is_absent_without_fair_share_preemption() -> None:
    # The same case with fair-share preemption off was already Armada's: urgency alone.
    case = URGENCY_CASES["priority class preemption through multiple levels"]
    replay(
        Case(
            nodes=case.nodes,
            queues=case.queues,
            rounds=case.rounds,
            settings={"enable_fair_share_preemption": False},
        )
    )

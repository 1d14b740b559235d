"""Urgency preemption by priority class, and gangs: whole or not at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from armada.domain import events as ev
from armada.domain.jobs import Gang
from armada.domain.queues import Queue
from armada.scheduling.round_data import SchedulingResult
from tests.scheduling.world import World, node

MakeWorld = Callable[..., World]


def test_a_higher_priority_class_preempts_a_lower_one(make_world: MakeWorld) -> None:
    w = make_world(
        [node("n0", cpu=4)], [Queue(name="a"), Queue(name="b")], enable_fair_share_preemption=False
    )
    low = w.submit("a", 4, priority_class="low")
    w.round()
    urgent = w.submit("b", 2, priority_class="urgent")
    result = w.round()
    assert {lease.job_id for lease in result.leases} == set(urgent)
    assert len(result.preemptions) == 2
    for p in result.preemptions:
        assert p.kind == "urgency" and p.job_id in low and p.preempting_job_id in urgent
        assert "priority class urgent" in p.reason


def test_urgency_victims_stop_counting_in_their_queue_at_once(make_world: MakeWorld) -> None:
    # a's gang holds n0 and n1; one urgent job preempts the member on n0, and with it the one
    # on n1. a's allocation must fall to nothing within the round (its share after the round,
    # and the fair order of the rest of the round, depend on it).
    w = make_world(
        [node("n0", cpu=2), node("n1", cpu=2)],
        [Queue(name="a"), Queue(name="b")],
        enable_fair_share_preemption=False,
    )
    w.submit("a", 2, cpu=2, priority_class="low", gang=Gang(id="g", cardinality=2))
    w.round()
    w.submit("b", 1, cpu=2, priority_class="urgent", node_selector={"kubernetes.io/hostname": "n0"})
    result = w.round()
    assert len(result.preemptions) == 2
    shares = {q.queue: q for q in result.pools[0].queues}
    assert shares["a"].actual_share == 1.0
    assert shares["a"].share_after == 0.0
    assert shares["b"].share_after == 0.5


def test_urgency_preemption_spares_equal_priorities(make_world: MakeWorld) -> None:
    w = make_world([node("n0", cpu=4)], [Queue(name="a"), Queue(name="b")])
    w.submit("a", 4, priority_class="armada-default")
    w.round()
    w.submit("b", 2, priority_class="armada-default")
    result = w.round()
    assert not result.preemptions and not result.leases


@pytest.mark.parametrize(
    "switch",
    [
        {"enable_urgency_preemption": False},
        {"pools": {"default": {"disable_urgency_preemption": True}}},
    ],
)
def test_urgency_preemption_can_be_disabled(make_world: MakeWorld, switch: dict[str, Any]) -> None:
    def scenario(**overrides: Any) -> tuple[SchedulingResult, list[str]]:
        w = make_world(
            [node("n0", cpu=4)],
            [Queue(name="a"), Queue(name="b")],
            enable_fair_share_preemption=False,
            **overrides,
        )
        w.submit("a", 4, priority_class="low")
        w.round()
        urgent = w.submit("b", 2, priority_class="urgent")
        return w.round(), urgent

    enabled, urgent = scenario()
    assert [p.kind for p in enabled.preemptions] == ["urgency", "urgency"]
    assert {lease.job_id for lease in enabled.leases} == set(urgent)
    disabled, urgent = scenario(**switch)
    assert not disabled.preemptions and not disabled.leases
    assert "does not fit" in disabled.job_reasons[urgent[0]]


def test_without_urgency_preemption_fair_share_preemption_still_happens(
    make_world: MakeWorld,
) -> None:
    w = make_world(
        [node("n0", cpu=4)], [Queue(name="a"), Queue(name="b")], enable_urgency_preemption=False
    )
    w.submit("a", 4, priority_class="low")
    w.round()
    urgent = w.submit("b", 2, priority_class="urgent")
    result = w.round()
    # a (all preemptible, above its share) is evicted; b's jobs take the room of two of them.
    assert [p.kind for p in result.preemptions] == ["fair-share", "fair-share"]
    assert {lease.job_id for lease in result.leases} == set(urgent)


def test_urgency_victims_are_the_lowest_priority_first(make_world: MakeWorld) -> None:
    w = make_world([node("n0", cpu=4)], [Queue(name="a")], enable_fair_share_preemption=False)
    low = w.submit("a", 2, priority_class="low")
    w.submit("a", 2, priority_class="armada-default")
    w.round()
    w.submit("a", 2, priority_class="urgent")
    result = w.round()
    assert {p.job_id for p in result.preemptions} == set(low)


def test_among_equal_victims_the_queue_furthest_above_its_share_gives_way(
    make_world: MakeWorld,
) -> None:
    # a and b each hold low-priority jobs on the one node; b holds 3 of 4 CPUs (1.5 times its
    # adjusted share), a 1 (0.75 times its share). c's urgent job takes one of b's, although
    # a's job comes first by id: b's youngest (Armada puts the oldest back first).
    w = make_world(
        [node("n0", cpu=4)],
        [Queue(name="a"), Queue(name="b"), Queue(name="c")],
        enable_fair_share_preemption=False,
    )
    w.submit("a", 1, priority_class="low")
    b_jobs = w.submit("b", 3, priority_class="low")
    w.round()
    (urgent,) = w.submit("c", 1, priority_class="urgent")
    result = w.round()
    assert [(p.job_id, p.preempting_job_id) for p in result.preemptions] == [(b_jobs[2], urgent)]


def test_fair_share_preempts_a_gang_as_a_unit(make_world: MakeWorld) -> None:
    # a's gang of two holds both nodes. b's one job takes the place of the member last in the
    # evicted order (on n1, as in Armada); the member on n0 could stay, but a gang runs whole
    # or not at all: both members are preempted.
    w = make_world([node("n0", cpu=2), node("n1", cpu=2)], [Queue(name="a"), Queue(name="b")])
    gang = w.submit(
        "a", 2, cpu=2, priority_class="armada-preemptible", gang=Gang(id="g", cardinality=2)
    )
    w.round()
    assert sorted(w.running_on().values()) == ["n0", "n1"]
    (newcomer,) = w.submit("b", 1, cpu=2, priority_class="armada-preemptible")
    result = w.round()
    assert sorted(p.job_id for p in result.preemptions) == sorted(gang)
    assert {p.kind for p in result.preemptions} == {"fair-share"}
    assert w.running_on() == {newcomer: "n1"}


def test_an_evicted_job_gets_its_node_back_when_the_lease_that_took_it_is_undone(
    make_world: MakeWorld,
) -> None:
    # b runs urgent jobs on n0 and n1 and a preemptible one, x, on n0; every queue holding
    # anything is evicted (protection 0). a's gang of three goes first: two members on n1's
    # free room, one in x's place on n0, so x cannot come back. Then b's urgent job preempts
    # the two members on n1, and the gang's lease on n0 is undone with them: x's room is
    # free again, and x must keep its node rather than be preempted off an idle slot.
    pin = "kubernetes.io/hostname"
    w = make_world(
        [node("n0", cpu=3), node("n1", cpu=4)],
        [Queue(name="a"), Queue(name="b")],
        protected_fraction_of_fair_share=0.0,
    )
    w.submit("b", 1, cpu=2, priority_class="urgent", node_selector={pin: "n0"})
    (x,) = w.submit("b", 1, cpu=1, priority_class="armada-preemptible", node_selector={pin: "n0"})
    w.submit("b", 1, cpu=2, priority_class="urgent", node_selector={pin: "n1"})
    w.round()
    gang = w.submit(
        "a", 3, cpu=1, priority_class="armada-preemptible", gang=Gang(id="g", cardinality=3)
    )
    (late,) = w.submit("b", 1, cpu=2, priority_class="urgent")
    result = w.round()
    assert [(lease.job_id, lease.node) for lease in result.leases] == [(late, "n1")]
    assert not result.preemptions
    assert w.running_on()[x] == "n0"
    assert all("displaced this round" in result.job_reasons[j] for j in gang)


def test_a_victim_stays_when_the_lease_that_preempted_it_is_undone(
    make_world: MakeWorld,
) -> None:
    # a's gang goes first (c's weight is low): one member on free n0, one on n1 in place of
    # b's low-priority job v. Then c's urgent job, pinned to n0, preempts the member there,
    # and the gang's lease on n1 is undone with it: v must keep its node, which is free.
    pin = "kubernetes.io/hostname"
    w = make_world(
        [node("n0", cpu=2), node("n1", cpu=2)],
        [Queue(name="a"), Queue(name="b"), Queue(name="c", priority_factor=4.0)],
        enable_fair_share_preemption=False,
        maximum_resource_fraction_to_schedule={"cpu": 2.0},  # the gang and c's job: 6 of 4
    )
    (v,) = w.submit("b", 1, cpu=2, priority_class="low", node_selector={pin: "n1"})
    w.round()
    w.submit("a", 2, cpu=2, priority_class="armada-preemptible", gang=Gang(id="g", cardinality=2))
    (urgent,) = w.submit("c", 1, cpu=2, priority_class="urgent", node_selector={pin: "n0"})
    result = w.round()
    assert [(lease.job_id, lease.node) for lease in result.leases] == [(urgent, "n0")]
    assert not result.preemptions
    assert w.running_on() == {v: "n1", urgent: "n0"}
    assert {q.queue: q.preempted_jobs for q in result.pools[0].queues}["b"] == 0
    assert result.pools[0].scheduled_gangs == 0  # the gang's lease was undone
    assert result.pools[0].scheduled_jobs == 1


def test_a_reinstated_victim_counts_again_in_its_queues_turn(make_world: MakeWorld) -> None:
    # As above, with room for more on n2 (for b and d only). a's gang (weight 8) goes first
    # and preempts b's v on n1, which lowers b's turn; c's urgent job (weight 4) then undoes
    # the gang and v is put back. b holds 2 CPUs again and d none: d must get n2's first two
    # turns; with b still scored as if v were gone, b took the first.
    pin = "kubernetes.io/hostname"
    small, big = {"kind": "small"}, {"kind": "big"}
    w = make_world(
        [
            node("n0", cpu=2, labels=small),
            node("n1", cpu=2, labels=small),
            node("n2", cpu=4, labels=big),
        ],
        [
            Queue(name="a", priority_factor=0.125),
            Queue(name="b"),
            Queue(name="c", priority_factor=0.25),
            Queue(name="d"),
        ],
        enable_fair_share_preemption=False,
        maximum_resource_fraction_to_schedule={"cpu": 2.0},
    )
    (v,) = w.submit("b", 1, cpu=2, priority_class="low", node_selector={pin: "n1"})
    w.round()
    w.submit(
        "a",
        2,
        cpu=2,
        priority_class="armada-preemptible",
        gang=Gang(id="g", cardinality=2),
        node_selector=small,
    )
    (urgent,) = w.submit("c", 1, cpu=2, priority_class="urgent", node_selector={pin: "n0"})
    w.submit("b", 4, node_selector=big)
    w.submit("d", 4, node_selector=big)
    result = w.round()
    assert not result.preemptions
    assert w.running_on()[v] == "n1" and w.running_on()[urgent] == "n0"
    assert [lease.queue for lease in result.leases] == ["c", "d", "d", "b", "d"]


def test_a_gang_is_scheduled_whole(make_world: MakeWorld) -> None:
    w = make_world([node(f"n{i}", cpu=5) for i in range(2)], [Queue(name="a")])
    gang = Gang(id="g1", cardinality=3)
    members = w.submit("a", 3, cpu=3, gang=gang)
    result = w.round()
    # Three 3-CPU members cannot fit on two 5-CPU nodes: none is scheduled.
    assert not result.leases
    for job_id in members:
        reason = result.job_reasons[job_id]
        assert "gang g1 does not fit" in reason
    w.nodes.append(node("n2", cpu=5))
    result = w.round()
    assert {lease.job_id for lease in result.leases} == set(members)
    assert {lease.gang_id for lease in result.leases} == {"g1"}
    assert result.pools[0].scheduled_gangs == 1


def test_a_gang_waits_for_all_its_members(make_world: MakeWorld) -> None:
    w = make_world([node("n0", cpu=8)], [Queue(name="a")])
    gang = Gang(id="g1", cardinality=3)
    first = w.submit("a", 2, gang=gang)
    result = w.round()
    assert not result.leases
    assert "2 of 3 members queued" in result.job_reasons[first[0]]
    w.submit("a", 1, gang=gang)
    assert len(w.round().leases) == 3


def test_a_gang_lands_on_one_value_of_its_uniformity_label(make_world: MakeWorld) -> None:
    nodes = [
        node("a1", cpu=2, labels={"zone": "a"}),
        node("a2", cpu=2, labels={"zone": "a"}),
        node("b1", cpu=4, labels={"zone": "b"}),
        node("b2", cpu=4, labels={"zone": "b"}),
    ]
    w = make_world(nodes, [Queue(name="q")])
    # Zone a is busy with one job on a1: the gang of four 2-CPU members fits only in zone b.
    w.submit("q", 1, cpu=1, node_selector={"kubernetes.io/hostname": "a1"})
    w.round()
    members = w.submit(
        "q", 4, cpu=2, gang=Gang(id="g", cardinality=4, node_uniformity_label="zone")
    )
    result = w.round()
    leases = {lease.job_id: lease for lease in result.leases}
    assert set(leases) == set(members)
    assert {lease.node for lease in leases.values()} == {"b1", "b2"}
    assert {lease.gang_uniformity_value for lease in leases.values()} == {"b"}


def test_a_preempted_gang_member_takes_its_gang_with_it(make_world: MakeWorld) -> None:
    w = make_world(
        [node("n0", cpu=2), node("n1", cpu=2)],
        [Queue(name="a"), Queue(name="b")],
        enable_fair_share_preemption=False,
    )
    gang = w.submit("a", 2, cpu=2, priority_class="low", gang=Gang(id="g", cardinality=2))
    w.round()
    assert len(w.running_on()) == 2
    w.submit("b", 1, cpu=2, priority_class="urgent", node_selector={"kubernetes.io/hostname": "n0"})
    result = w.round()
    assert {p.job_id for p in result.preemptions} == set(gang)
    assert {p.kind for p in result.preemptions} == {"urgency", "gang"}


def test_an_evicted_job_returns_only_to_its_own_node(make_world: MakeWorld) -> None:
    # a runs on n0 and n1, above its share against b (which wants all three nodes' worth),
    # and is evicted. b (weight 2, so first) takes n0, where its jobs are pinned. a's job
    # from n0 must not move to n2, which is free: it is preempted; a's job on n1 goes back.
    w = make_world(
        [node("n0", cpu=2), node("n1", cpu=2), node("n2", cpu=2)],
        [Queue(name="a"), Queue(name="b", priority_factor=0.5)],
    )
    on_n0, on_n1 = w.submit("a", 2, cpu=2, priority_class="armada-preemptible")
    w.round()
    assert w.running_on() == {on_n0: "n0", on_n1: "n1"}
    pinned, *_ = w.submit(
        "b",
        3,
        cpu=2,
        priority_class="armada-preemptible",
        node_selector={"kubernetes.io/hostname": "n0"},
    )
    result = w.round()
    assert [p.job_id for p in result.preemptions] == [on_n0]
    assert [(lease.job_id, lease.node) for lease in result.leases] == [(pinned, "n0")]
    assert w.running_on() == {pinned: "n0", on_n1: "n1"}
    assert result.pools[0].queues[0].evicted_jobs == 2  # both of a's were evicted


def test_lease_returned_job_avoids_the_nodes_it_failed_on(make_world: MakeWorld) -> None:
    w = make_world([node("n0", cpu=4), node("n1", cpu=2)], [Queue(name="a")])
    (job,) = w.submit("a", 1, cpu=2)
    w.round()
    run = w.db.read()[job].active_run
    assert run is not None and run.node == "n1"
    w.apply(
        ev.JobRunLeaseReturned(job_id=job, run_id=run.run_id, reason="could not start"),
        ev.JobRequeued(job_id=job, avoid_nodes=("n1",)),
    )
    result = w.round()
    assert [lease.node for lease in result.leases] == ["n0"]
    w.apply(
        ev.JobRunLeaseReturned(job_id=job, run_id=w.db.read()[job].runs[-1].run_id),
        ev.JobRequeued(job_id=job, avoid_nodes=("n0",)),
    )
    result = w.round()
    assert not result.leases
    assert "must avoid nodes n1, n0" in result.job_reasons[job]


def test_a_gang_whose_last_member_is_never_reached_tells_why(make_world: MakeWorld) -> None:
    # The gang is offered at its last member, which is a twin of x: x fits nowhere, its twins
    # are set aside with it, so the gang is never offered. Its first member still gets a reason.
    w = make_world([node("n0", cpu=4)], [Queue(name="a")])
    gang = Gang(id="g", cardinality=2)
    (first,) = w.submit("a", 1, gang=gang)
    w.submit("a", 1, cpu=8)  # x
    w.submit("a", 1, cpu=8, gang=gang)
    result = w.round()
    assert not result.leases
    key = w.db.read().key_of(w.db.read()[first]).id
    assert "gang g: 1 of its members were not reached" in (result.reason_for(first, "a", key) or "")


def test_a_newcomer_takes_the_place_of_the_evicted_job_least_entitled_to_come_back(
    make_world: MakeWorld,
) -> None:
    # a's four jobs fill two nodes; the one its owner ranked last (job priority 9) runs on
    # n1. b's job arrives: a is over its share, and the job preempted is the one a would put
    # back last, on whichever node it is (Armada's fair-share preemption), not one of the
    # jobs on the node that happens to come first.
    w = make_world([node("n0", cpu=2), node("n1", cpu=2)], [Queue(name="a"), Queue(name="b")])
    w.submit("a", 3, cpu=1, priority_class="armada-preemptible")
    (last,) = w.submit("a", 1, cpu=1, priority_class="armada-preemptible", priority=9)
    w.round()
    assert w.running_on()[last] == "n1"
    (newcomer,) = w.submit("b", 1, cpu=1, priority_class="armada-preemptible")
    result = w.round()
    assert [p.job_id for p in result.preemptions] == [last]
    assert result.preemptions[0].preempting_job_id == newcomer
    assert w.running_on()[newcomer] == "n1"

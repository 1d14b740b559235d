"""Node matching (taints, selectors, affinity, unschedulable), limits, cordons, determinism."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import msgspec
import pytest

from armada.domain import events as ev
from armada.domain.jobs import NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration
from armada.domain.queues import Queue, ResourceFractionLimits
from armada.scheduling import schedule
from tests.scheduling.world import FakeMonotonic, World, node

MakeWorld = Callable[..., World]
GPU_TAINT = Taint(key="nvidia.com/gpu", value="true", effect="NoSchedule")


def placed(w: World) -> dict[str, str]:
    return w.running_on()


def test_taints_keep_out_jobs_without_a_toleration(make_world: MakeWorld) -> None:
    w = make_world(
        [
            node("gpu", taints=(GPU_TAINT,)),
            node("soft", taints=(Taint(key="x", effect="PreferNoSchedule"),)),
        ],
        [Queue(name="a")],
    )
    (plain,) = w.submit("a", cpu=20)
    (tolerant,) = w.submit(
        "a", cpu=20, tolerations=(Toleration(key="nvidia.com/gpu", operator="Exists"),)
    )
    w.round()
    assert placed(w) == {plain: "soft", tolerant: "gpu"}


def test_a_job_without_toleration_is_told_which_taint_blocks_it(make_world: MakeWorld) -> None:
    w = make_world([node("gpu", taints=(GPU_TAINT,))], [Queue(name="a")])
    (job,) = w.submit("a")
    result = w.round()
    assert "nvidia.com/gpu=true:NoSchedule" in result.job_reasons[job]


def test_node_selector_is_honoured(make_world: MakeWorld) -> None:
    w = make_world(
        [node("a1", labels={"zone": "a"}), node("b1", labels={"zone": "b"})], [Queue(name="q")]
    )
    jobs = w.submit("q", 3, node_selector={"zone": "b"})
    (nowhere,) = w.submit("q", node_selector={"zone": "c"})
    result = w.round()
    assert {placed(w)[j] for j in jobs} == {"b1"}
    assert "without label zone=c" in (
        result.reason_for(nowhere, "q", w.db.read().key_of(w.db.read()[nowhere]).id) or ""
    )


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (NodeSelectorRequirement(key="zone", operator="In", values=("b", "c")), {"b1"}),
        (NodeSelectorRequirement(key="zone", operator="NotIn", values=("b",)), {"a1", "bare"}),
        (NodeSelectorRequirement(key="zone", operator="Exists"), {"a1", "b1"}),
        (NodeSelectorRequirement(key="zone", operator="DoesNotExist"), {"bare"}),
        (NodeSelectorRequirement(key="size", operator="Gt", values=("10",)), {"b1"}),
        (NodeSelectorRequirement(key="size", operator="Lt", values=("10",)), {"a1"}),
    ],
)
def test_required_node_affinity_operators(
    make_world: MakeWorld, expr: NodeSelectorRequirement, expected: set[str]
) -> None:
    nodes = [
        node("a1", cpu=100, labels={"zone": "a", "size": "4"}),
        node("b1", cpu=100, labels={"zone": "b", "size": "64"}),
        node("bare", cpu=100),
    ]
    w = make_world(nodes, [Queue(name="q")])
    affinity = (NodeSelectorTerm(match_expressions=(expr,)),)
    # Spread: one job pinned per node where allowed, via hostname terms ANDed with expr.
    chosen = set()
    for n in ("a1", "b1", "bare"):
        pin = NodeSelectorRequirement(key="kubernetes.io/hostname", operator="In", values=(n,))
        term = NodeSelectorTerm(match_expressions=(expr, pin))
        w.submit("q", node_affinity=(term,))
    w.submit("q", node_affinity=affinity)
    w.round()
    chosen = set(placed(w).values())
    assert chosen == expected


def test_affinity_terms_are_ored(make_world: MakeWorld) -> None:
    w = make_world(
        [
            node("a1", labels={"zone": "a"}),
            node("b1", labels={"zone": "b"}),
            node("c1", labels={"zone": "c"}),
        ],
        [Queue(name="q")],
    )
    terms = tuple(
        NodeSelectorTerm(
            match_expressions=(NodeSelectorRequirement(key="zone", operator="In", values=(z,)),)
        )
        for z in ("a", "c")
    )
    w.submit("q", 60, cpu=1, node_affinity=terms)
    w.round()
    assert set(placed(w).values()) == {"a1", "c1"}


def test_unschedulable_nodes_and_cordoned_executors_get_nothing_new(make_world: MakeWorld) -> None:
    w = make_world(
        [node("off", unschedulable=True), node("other", executor="c2"), node("ok", cpu=2)],
        [Queue(name="q")],
    )
    w.cordoned = frozenset({"c2"})
    w.submit("q", 4)
    result = w.round()
    assert set(placed(w).values()) == {"ok"}
    assert len(result.leases) == 2


def test_global_rate_limit_caps_a_round_and_refills_with_time(make_world: MakeWorld) -> None:
    w = make_world(
        [node("n0", cpu=100)],
        [Queue(name="q")],
        maximum_scheduling_burst=5,
        maximum_scheduling_rate=2.0,
    )
    jobs = w.submit("q", 20)
    result = w.round()
    assert len(result.leases) == 5
    assert result.pools[0].termination_reason == "global scheduling rate limit exceeded"
    assert result.reason_for(jobs[-1], "q", 0) is not None
    assert "global scheduling rate limit exceeded" in (result.reason_for(jobs[-1], "q", 0) or "")
    assert len(w.round(advance=1.0).leases) == 2  # two tokens per second
    assert len(w.round(advance=100.0).leases) == 5  # never more than the burst


def test_per_queue_rate_limit(make_world: MakeWorld) -> None:
    w = make_world(
        [node("n0", cpu=100)],
        [Queue(name="a"), Queue(name="b")],
        maximum_per_queue_scheduling_burst=3,
        maximum_per_queue_scheduling_rate=1.0,
    )
    w.submit("a", 10)
    w.submit("b", 1)
    result = w.round()
    assert sum(1 for lease in result.leases if lease.queue == "a") == 3
    assert sum(1 for lease in result.leases if lease.queue == "b") == 1
    reasons = [r for r in result.key_reasons if r.queue == "a"]
    assert reasons and reasons[0].reason == "queue scheduling rate limit exceeded"


def test_gang_larger_than_the_burst_never_schedules(make_world: MakeWorld) -> None:
    from armada.domain.jobs import Gang

    w = make_world([node("n0", cpu=100)], [Queue(name="a")], maximum_scheduling_burst=2)
    jobs = w.submit("a", 3, gang=Gang(id="big", cardinality=3))
    result = w.round()
    assert not result.leases
    assert "gang cardinality too large" in result.job_reasons[jobs[0]]


def test_per_queue_resource_limit_by_priority_class(make_world: MakeWorld) -> None:
    limited = Queue(
        name="a",
        resource_limits_by_priority_class={
            "armada-default": ResourceFractionLimits(maximum_resource_fraction={"cpu": 0.25})
        },
    )
    w = make_world([node("n0", cpu=16)], [limited, Queue(name="b")])
    w.submit("a", 10)
    w.submit("b", 2)
    result = w.round()
    assert sum(1 for lease in result.leases if lease.queue == "a") == 4
    assert sum(1 for lease in result.leases if lease.queue == "b") == 2
    reason = next(r for r in result.key_reasons if r.queue == "a")
    assert reason.reason.startswith("resource limit exceeded") and reason.jobs == 5


def test_priority_class_limit_applies_per_pool(make_world: MakeWorld) -> None:
    w = make_world(
        [node("n0", cpu=10, pool="p1"), node("n1", cpu=10, pool="p2")],
        [Queue(name="a")],
        priority_classes={
            "armada-default": {
                "priority": 1000,
                "maximum_resource_fraction_per_queue": {"cpu": 1.0},
                "maximum_resource_fraction_per_queue_by_pool": {"p1": {"cpu": 0.5}},
            }
        },
    )
    w.submit("a", 20)
    result = w.round()
    by_pool = {p: sum(1 for lease in result.leases if lease.pool == p) for p in ("p1", "p2")}
    assert by_pool == {"p1": 5, "p2": 10}


def test_a_cordoned_queue_gets_nothing(make_world: MakeWorld) -> None:
    w = make_world([node("n0")], [Queue(name="a", cordoned=True), Queue(name="b")])
    w.submit("a", 3)
    w.submit("b", 1)
    result = w.round()
    assert {lease.queue for lease in result.leases} == {"b"}
    assert any(
        r.queue == "a" and r.reason == "queue cordoned" and r.jobs == 3 for r in result.key_reasons
    )


def test_queued_jobs_of_unknown_queues_are_reported(make_world: MakeWorld) -> None:
    w = make_world([node("n0")], [Queue(name="b")])
    w.submit("ghost", 2)
    result = w.round()
    assert not result.leases
    assert result.key_reasons[0].reason == "queue ghost does not exist"


def test_lookback_limits_how_deep_a_queue_is_searched(make_world: MakeWorld) -> None:
    w = make_world([node("n0", cpu=100)], [Queue(name="a")], max_queue_lookback=3)
    w.submit("a", 10)
    result = w.round()
    assert len(result.leases) == 3
    assert any(r.reason == "queue lookback limit reached" for r in result.key_reasons)


def test_time_budget_stops_new_jobs_but_not_evicted_ones(make_world: MakeWorld) -> None:
    w = make_world(
        [node("n0", cpu=8)], [Queue(name="a"), Queue(name="b")], max_scheduling_duration="5s"
    )
    w.submit("a", 4, priority_class="armada-preemptible")
    w.round()
    w.submit("b", 4, priority_class="armada-preemptible")
    # Every clock read advances 10 s: the budget is gone before the first new job.
    result = w.round(monotonic=FakeMonotonic(step=10.0))
    assert not result.leases and not result.preemptions
    assert result.pools[0].termination_reason == "maximum scheduling duration exceeded"
    assert len(w.running_on()) == 4


def test_the_same_snapshot_gives_the_same_result(make_world: MakeWorld) -> None:
    w = make_world(
        [node(f"n{i}", cpu=4 + i % 3, labels={"zone": "ab"[i % 2]}) for i in range(12)],
        [Queue(name=q, priority_factor=1 + i) for i, q in enumerate("abc")],
    )
    for q in "abc":
        w.submit(q, 7, cpu=1, priority_class="armada-preemptible")
        w.submit(q, 3, cpu=2, priority_class="urgent")
    w.round()
    w.submit("c", 20, cpu=1)
    snapshot = w.snapshot()
    first = schedule(snapshot, w.settings, monotonic=FakeMonotonic())
    second = schedule(snapshot, w.settings, monotonic=FakeMonotonic())
    assert msgspec.json.encode(first) == msgspec.json.encode(second)
    assert first.leases


def test_jobs_of_a_deleted_queue_still_hold_their_node(make_world: MakeWorld) -> None:
    w = make_world([node("n0", cpu=4)], [Queue(name="gone"), Queue(name="b")])
    w.submit("gone", 4)
    w.round()
    w.queues = [Queue(name="b")]
    w.submit("b", 2)
    result = w.round()
    assert not result.leases and not result.preemptions
    assert "does not fit" in next(iter(result.job_reasons.values()))


def test_a_job_whose_pools_have_no_nodes_is_told_so(make_world: MakeWorld) -> None:
    w = make_world([node("n0", pool="cpu")], [Queue(name="q")])
    (job,) = w.submit("q")
    w.apply(ev.JobValidated(job_id=job, pools=("gpu",)))
    result = w.round()
    assert not result.leases
    key_id = w.db.read().key_of(w.db.read()[job]).id
    reason = result.reason_for(job, "q", key_id)
    assert reason == "pool cpu: none of the pools it may run in (gpu) has nodes"


def _key_id(w: World, job_id: str) -> int:
    snap = w.db.read()
    return snap.key_of(snap[job_id]).id


def test_maximum_resource_fraction_to_schedule_caps_each_round(make_world: MakeWorld) -> None:
    # A quarter of p1's 16 CPUs per round; p2 overrides it with a half of its own 16. As in
    # Armada, a round stops once what it scheduled exceeds the cap: one job past it.
    w = make_world(
        [node("n1", cpu=16, pool="p1"), node("n2", cpu=16, pool="p2")],
        [Queue(name="a")],
        maximum_resource_fraction_to_schedule={"cpu": 0.25},
        pools={"p2": {"maximum_resource_fraction_to_schedule": {"cpu": 0.5}}},
    )
    jobs = w.submit("a", 40)
    result = w.round()
    assert Counter(lease.pool for lease in result.leases) == {"p1": 5, "p2": 9}
    assert {p.pool: p.termination_reason for p in result.pools} == {
        "p1": "maximum resources scheduled",
        "p2": "maximum resources scheduled",
    }
    waiting = result.reason_for(jobs[-1], "a", _key_id(w, jobs[-1])) or ""
    assert "pool p1: maximum resources scheduled" in waiting
    # The cap is per round, not on what the pool holds: the next round schedules as much again
    # in p1, and p2 fills its last 7 CPUs.
    again = w.round()
    assert Counter(lease.pool for lease in again.leases) == {"p1": 5, "p2": 7}


def test_a_job_that_does_not_fit_never_ends_a_round_for_the_cap(make_world: MakeWorld) -> None:
    # Nodes of 32 CPUs with 24 and 0 free; a quarter of the pool (16 CPUs) per round. The
    # whole-node job first in the queue fits nowhere: it waits with its own reason, and the
    # small jobs behind it are scheduled (the cap counts what was scheduled, not what is asked).
    w = make_world([node("n0", cpu=32), node("n1", cpu=32)], [Queue(name="a")])
    w.submit("a", 40)
    w.round()
    w.settings = w.settings.model_copy(
        update={"maximum_resource_fraction_to_schedule": {"cpu": 0.25}}
    )
    (big,) = w.submit("a", 1, cpu=32)
    small = w.submit("a", 5)
    result = w.round()
    assert {lease.job_id for lease in result.leases} == set(small)
    assert "does not fit" in (result.reason_for(big, "a", _key_id(w, big)) or "")
    assert result.pools[0].termination_reason != "maximum resources scheduled"


def test_a_queue_is_scheduled_by_class_priority_then_job_priority_then_age(
    make_world: MakeWorld,
) -> None:
    w = make_world([node("n0", cpu=5)], [Queue(name="q")])
    # Two shapes of job, so that the order holds both within a group of twins and across.
    (old_but_priority_5,) = w.submit("q", priority=5)
    first_1, second_1 = w.submit("q", 2, priority=1, memory_gi=2)
    (late_5,) = w.submit("q", priority=5, memory_gi=3)
    (urgent_9,) = w.submit("q", priority_class="urgent", priority=9)
    (low_class_0,) = w.submit("q", priority_class="low", priority=0)
    result = w.round()
    # Five CPUs for six jobs: the urgent class first whatever its job priority, then the
    # lower job priority, then the earlier submission; the low class waits.
    assert [lease.job_id for lease in result.leases] == [
        urgent_9,
        first_1,
        second_1,
        old_but_priority_5,
        late_5,
    ]
    assert low_class_0 in w.queued()

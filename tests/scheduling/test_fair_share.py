"""Fair division between queues, and fair-share preemption with its protection."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from armada.domain import events as ev
from armada.domain.queues import Queue
from armada.scheduling.round_data import QueueRound, SchedulingResult
from tests.scheduling.world import World, node

MakeWorld = Callable[..., World]


def per_queue(world: World) -> Counter[str]:
    snap = world.db.read()
    return Counter(snap[j].spec.queue for j in world.running_on())


def test_an_empty_cluster_is_divided_by_weight(make_world: MakeWorld) -> None:
    w = make_world(
        [node(f"n{i}", cpu=10) for i in range(3)],
        [Queue(name="a", priority_factor=1.0), Queue(name="b", priority_factor=2.0)],
    )
    w.submit("a", 40)
    w.submit("b", 40)
    result = w.round()
    assert len(result.leases) == 30
    assert per_queue(w) == {"a": 20, "b": 10}
    report = result.pools[0]
    shares = {q.queue: q for q in report.queues}
    assert abs(shares["a"].fair_share - 2 / 3) < 1e-9
    assert abs(shares["b"].share_after - 1 / 3) < 1e-9


def test_unused_share_goes_to_the_queue_that_wants_it(make_world: MakeWorld) -> None:
    w = make_world([node("n0", cpu=10)], [Queue(name="a"), Queue(name="b")])
    w.submit("a", 2)
    w.submit("b", 20)
    result = w.round()
    assert per_queue(w) == {"a": 2, "b": 8}
    shares = {q.queue: q for q in result.pools[0].queues}
    assert abs(shares["a"].adjusted_fair_share - 0.2) < 1e-9
    assert abs(shares["b"].adjusted_fair_share - 0.8) < 1e-9


def test_fair_share_preemption_makes_room_for_a_newcomer(make_world: MakeWorld) -> None:
    w = make_world([node(f"n{i}", cpu=4) for i in range(2)], [Queue(name="a"), Queue(name="b")])
    w.submit("a", 8, priority_class="armada-preemptible")
    w.round()
    assert per_queue(w) == {"a": 8}
    w.submit("b", 8, priority_class="armada-preemptible")
    result = w.round()
    assert len(result.preemptions) == 4
    assert all(p.kind == "fair-share" and p.queue == "a" for p in result.preemptions)
    assert "fair share" in result.preemptions[0].reason
    assert per_queue(w) == {"a": 4, "b": 4}
    # Balanced now: nothing moves any more.
    again = w.round()
    assert not again.preemptions and not again.leases


def test_non_preemptible_jobs_are_never_evicted_for_fair_share(make_world: MakeWorld) -> None:
    w = make_world([node("n0", cpu=8)], [Queue(name="a"), Queue(name="b")])
    w.submit("a", 8, priority_class="armada-default")
    w.round()
    w.submit("b", 8, priority_class="armada-preemptible")
    result = w.round()
    assert not result.preemptions
    assert per_queue(w) == {"a": 8}
    assert "does not fit" in (result.reason_for(*_ident(w, "b")) or "")


def _ident(w: World, queue: str) -> tuple[str, str, int]:
    snap = w.db.read()
    job = next(snap.queued(queue))
    return job.job_id, queue, snap.key_of(job).id


def test_protected_fraction_shields_queues_near_their_share(make_world: MakeWorld) -> None:
    # a holds 6 of 8 CPUs; its fair share against b is 0.5, so actual/fair = 1.5.
    def scenario(protected: float) -> int:
        w = make_world(
            [node("n0", cpu=8)],
            [Queue(name="a"), Queue(name="b")],
            protected_fraction_of_fair_share=protected,
        )
        w.submit("a", 6, priority_class="armada-preemptible")
        w.round()
        w.submit("b", 8, priority_class="armada-preemptible")
        return len(w.round().preemptions)

    assert scenario(2.0) == 0
    assert scenario(1.0) == 2


def test_protected_fraction_can_be_overridden_per_pool(make_world: MakeWorld) -> None:
    # The same in two pools: a holds 6 of 8 CPUs, 1.5 times its share against b. The global
    # protection (1.0) lets p2 preempt; p1 overrides it with 2.0 and preempts nothing.
    w = make_world(
        [node("n1", cpu=8, pool="p1"), node("n2", cpu=8, pool="p2")],
        [Queue(name="a"), Queue(name="b")],
        protected_fraction_of_fair_share=1.0,
        pools={"p1": {"protected_fraction_of_fair_share": 2.0}},
    )
    for pool in ("p1", "p2"):
        _validate(w, w.submit("a", 6, priority_class="armada-preemptible"), pool)
    w.round()
    for pool in ("p1", "p2"):
        _validate(w, w.submit("b", 8, priority_class="armada-preemptible"), pool)
    result = w.round()
    assert Counter(p.pool for p in result.preemptions) == {"p2": 2}
    assert Counter(lease.pool for lease in result.leases) == {"p1": 2, "p2": 4}


def test_fair_share_preemption_can_be_switched_off_per_pool(make_world: MakeWorld) -> None:
    w = make_world(
        [node("n0", cpu=4)],
        [Queue(name="a"), Queue(name="b")],
        pools={"default": {"disable_fair_share_preemption": True}},
    )
    w.submit("a", 4, priority_class="armada-preemptible")
    w.round()
    w.submit("b", 4, priority_class="armada-preemptible")
    assert not w.round().preemptions


def _validate(w: World, ids: list[str], *pools: str) -> list[str]:
    w.apply(*(ev.JobValidated(job_id=job_id, pools=pools) for job_id in ids))
    return ids


def _pool_queues(result: SchedulingResult, pool: str) -> dict[str, QueueRound]:
    report = next(p for p in result.pools if p.pool == pool)
    return {q.queue: q for q in report.queues}


def test_a_pool_shares_only_between_queues_that_want_it(make_world: MakeWorld) -> None:
    # b holds 6 of p1's 8 CPUs, c wants p1 too: 1/2 each, b at 1.5 times its share, protected
    # up to 2. Queue a runs in p2 and queues only for p2: it must count in neither p1's
    # shares nor p1's demand (counted, it made the shares 1/3 and b was preempted).
    w = make_world(
        [node("n1", cpu=8, pool="p1"), node("n2", cpu=8, pool="p2")],
        [Queue(name="a"), Queue(name="b"), Queue(name="c")],
        protected_fraction_of_fair_share=2.0,
    )
    _validate(w, w.submit("b", 6, priority_class="armada-preemptible"), "p1")
    _validate(w, w.submit("a", 8), "p2")
    w.round()
    assert per_queue(w) == {"a": 8, "b": 6}
    _validate(w, w.submit("a", 100), "p2")
    _validate(w, w.submit("c", 8, priority_class="armada-preemptible"), "p1")
    result = w.round()
    assert not result.preemptions
    p1 = _pool_queues(result, "p1")
    assert set(p1) == {"b", "c"}
    assert all(abs(q.fair_share - 0.5) < 1e-9 for q in p1.values())
    assert p1["c"].queued_jobs == 8  # a's queued jobs are counted in p2, not here
    assert [lease.queue for lease in result.leases] == ["c", "c"]
    p2 = _pool_queues(result, "p2")
    assert set(p2) == {"a"} and p2["a"].queued_jobs == 100


def test_jobs_leased_in_an_earlier_pool_are_no_demand_in_a_later_one(
    make_world: MakeWorld,
) -> None:
    # a's four jobs may run anywhere and all go to p1 (scheduled first). In p2 only b (full,
    # running) and c (queued) remain: 1/2 each, b at twice its share, protected up to 2.5.
    w = make_world(
        [node("n1", cpu=4, pool="p1"), node("n2", cpu=4, pool="p2")],
        [Queue(name="a"), Queue(name="b"), Queue(name="c")],
        protected_fraction_of_fair_share=2.5,
    )
    _validate(w, w.submit("b", 4, priority_class="armada-preemptible"), "p2")
    w.round()
    a_jobs = w.submit("a", 4)
    _validate(w, w.submit("c", 4, priority_class="armada-preemptible"), "p2")
    result = w.round()
    assert {lease.job_id for lease in result.leases} == set(a_jobs)
    assert {lease.pool for lease in result.leases} == {"p1"}
    assert not result.preemptions
    p2 = _pool_queues(result, "p2")
    assert set(p2) == {"b", "c"}
    assert abs(p2["b"].fair_share - 0.5) < 1e-9


def test_a_queue_that_lost_jobs_this_round_is_offered_room_at_its_new_share(
    make_world: MakeWorld,
) -> None:
    # a's one 4-CPU low-priority job is preempted by b's urgent 1-CPU job; that leaves 3 CPUs
    # for a and c, both now holding nothing. Filling must see a's allocation after the
    # preemption (0), not before (4 CPUs): a and c take turns (a first by name), a gets 2.
    w = make_world(
        [node("n0", cpu=4)],
        [Queue(name="a"), Queue(name="b"), Queue(name="c")],
        enable_fair_share_preemption=False,
    )
    (low,) = w.submit("a", 1, cpu=4, priority_class="low")
    w.round()
    w.submit("b", 1, priority_class="urgent")
    w.submit("a", 3)
    w.submit("c", 3)
    result = w.round()
    assert [p.job_id for p in result.preemptions] == [low]
    assert [lease.queue for lease in result.leases] == ["b", "a", "c", "a"]

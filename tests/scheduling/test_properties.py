"""Property tests: random clusters and workloads, several rounds, invariants after each.

The invariants are checked against the world, not the scheduler's own labels: nodes never
over-committed, constraints honoured, gangs whole, every waiting job with a reason, each
queue's reported share what it really holds, and every preemption explained by a lease on
the preempted job's node (by a higher priority class if the job was not preemptible). The
first test draws varied worlds (pools, taints, selectors, lease returns); the second crowded
ones, where most examples preempt. Run with more examples when changing the algorithm, e.g.
by raising ``max_examples`` locally: thousands run in under a minute.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from armada.domain import events as ev
from armada.domain.jobs import Gang, Taint, Toleration
from armada.domain.lifecycle import JobRecord
from armada.domain.queues import Queue
from armada.scheduling.nodes import Node, affinity_matches, selector_matches, untolerated_taint
from armada.scheduling.resources import ResourceSpace
from armada.scheduling.round_data import SchedulingResult
from tests.scheduling.world import CLASSES, World, node

TAINT = Taint(key="dedicated", value="gpu", effect="NoSchedule")
TOLERATE = (Toleration(key="dedicated", operator="Exists"),)


@st.composite
def clusters(draw: st.DrawFn) -> list[Node]:
    count = draw(st.integers(1, 6))
    return [
        node(
            f"n{i}",
            cpu=draw(st.integers(1, 8)),
            memory_gi=draw(st.integers(2, 16)),
            pool=draw(st.sampled_from(["p1", "p2"])),
            labels={"zone": draw(st.sampled_from(["a", "b"]))},
            taints=(TAINT,) if draw(st.booleans()) and i % 2 else (),
            unschedulable=draw(st.integers(0, 5)) == 0,
        )
        for i in range(count)
    ]


JOB_SHAPE: dict[str, st.SearchStrategy[Any]] = {
    "queue": st.sampled_from(["q1", "q2", "q3"]),
    "n": st.integers(1, 4),
    "cpu": st.integers(1, 4),
    "memory_gi": st.integers(1, 4),
    "priority_class": st.sampled_from(["armada-preemptible", "low", "armada-default", "urgent"]),
    "zone": st.sampled_from(["", "a", "b"]),
    "tolerate": st.booleans(),
    "gang": st.integers(0, 3),
    "uniform": st.booleans(),
    "pools": st.sampled_from([(), ("p1",), ("p2",), ("p3",), ("p1", "p2")]),
}
job_shapes = st.fixed_dictionaries(JOB_SHAPE)


def submit_shape(w: World, shape: dict[str, Any], serial: int) -> None:
    extra: dict[str, Any] = {}
    if shape["zone"]:
        extra["node_selector"] = {"zone": shape["zone"]}
    if shape["tolerate"]:
        extra["tolerations"] = TOLERATE
    n = shape["n"]
    if shape["gang"] >= 2:
        label = "zone" if shape["uniform"] else ""
        extra["gang"] = Gang(
            id=f"g{serial}", cardinality=shape["gang"], node_uniformity_label=label
        )
        n = shape["gang"] - (1 if serial % 5 == 0 else 0)  # now and then a member is missing
    ids = w.submit(
        shape["queue"],
        n,
        cpu=shape["cpu"],
        memory_gi=shape["memory_gi"],
        priority_class=shape["priority_class"],
        **extra,
    )
    if shape["pools"]:
        w.apply(*(ev.JobValidated(job_id=job_id, pools=shape["pools"]) for job_id in ids))


def check_invariants(w: World, result: SchedulingResult, before: Any) -> None:
    space = ResourceSpace.from_settings(w.settings.indexed_resources)
    nodes = {n.ref: n for n in w.nodes}
    snap = w.db.read()
    used: dict[tuple[str, str], Any] = {}
    for job in snap.jobs():
        run = job.active_run
        if run is None:
            continue
        target = nodes[(run.executor, run.node)]
        req = job.spec.requirements
        assert untolerated_taint(req.tolerations, target.taints) is None, job.job_id
        assert selector_matches(req.node_selector, target.labels), job.job_id
        assert affinity_matches(req.node_affinity, target.labels), job.job_id
        vec, _ = space.request(req.resources)
        used[target.ref] = used.get(target.ref, 0) + vec
    for ref, total in used.items():
        cap = space.capacity(nodes[ref].allocatable, nodes[ref].non_armada_allocated)
        assert (total <= cap).all(), f"node {ref} over-committed"
    for lease in result.leases:
        target = nodes[(lease.executor, lease.node)]
        assert not target.unschedulable and lease.executor not in w.cordoned
        assert lease.node not in before[lease.job_id].avoid_nodes, "an avoided node was used"
        pools = before[lease.job_id].validated_pools
        assert not pools or lease.pool in pools, "leased outside its validated pools"
    check_preemptions_explained(w, result, before)
    check_shares_after(w, result, space)
    gangs: dict[str, list[Any]] = {}
    for job in snap.jobs():
        if job.spec.gang is not None:
            gangs.setdefault(job.spec.gang.id, []).append(job)
    for gang_id, members in gangs.items():
        active = sum(1 for m in members if m.active_run is not None)
        assert active in (0, members[0].spec.gang.cardinality), f"gang {gang_id} split"
    leased = {lease.job_id for lease in result.leases}
    for job in before.jobs():
        if job.active_run is None and job.job_id not in leased:
            key_id = before.key_of(job).id
            assert result.reason_for(job.job_id, job.spec.queue, key_id), job.job_id


def _class_priority(job: JobRecord) -> int:
    return CLASSES[job.spec.priority_class].priority


def check_preemptions_explained(w: World, result: SchedulingResult, before: Any) -> None:
    """Every preemption is explained by what the round did, whatever label it carries.

    A preempted job's node (or, for a gang, the node of a member preempted with it) must host
    a job leased in this round: fair-share preemption only ever gives an evicted job's room
    to a newcomer, and urgency preemption makes room for one. A job that is not preemptible
    may only give way to a newcomer of a strictly higher priority class (urgency).
    """
    leased_on: dict[tuple[str, str], list[int]] = {}
    for lease in result.leases:
        priority = _class_priority(before[lease.job_id])
        leased_on.setdefault((lease.executor, lease.node), []).append(priority)
    preempted = {p.job_id for p in result.preemptions}
    for p in result.preemptions:
        event(f"preempted ({p.kind})")
    for job_id in preempted:
        job = before[job_id]
        gang = job.spec.gang
        went = [job]
        if gang is not None:
            mates = before.gang(job.spec.queue, gang.id)
            went += [before[m] for m in sorted(mates & preempted)]
        newcomers = [
            priority
            for gone in went
            if (run := gone.active_run) is not None
            for priority in leased_on.get((run.executor, run.node), [])
        ]
        assert newcomers, f"{job_id} preempted, but no job was leased where it (or its gang) ran"
        if not CLASSES[job.spec.priority_class].preemptible:
            assert max(newcomers) > _class_priority(job), (
                f"{job_id} is not preemptible, but nothing of a higher class took its place"
            )


def check_shares_after(w: World, result: SchedulingResult, space: ResourceSpace) -> None:
    """Each queue's reported share after the round is the DRF cost of what it then holds."""
    snap = w.db.read()
    considered = [
        r for r in w.settings.dominant_resource_fairness_resources_to_consider if r in space.index
    ]
    for report in result.pools:
        held: dict[str, Any] = {}
        for job in snap.jobs():
            run = job.active_run
            if run is not None and run.pool == report.pool:
                vec, _ = space.request(job.spec.requirements.resources)
                held[job.spec.queue] = held.get(job.spec.queue, 0) + vec
        for q in report.queues:
            alloc = held.get(q.queue)
            expected = max(
                (
                    int(alloc[space.index[r]]) / report.capacity[r]
                    for r in considered
                    if alloc is not None and report.capacity.get(r)
                ),
                default=0.0,
            )
            assert abs(q.share_after - expected) < 1e-9, (report.pool, q.queue)


def run_waves(w: World, waves: list[list[dict[str, Any]]], finish: int, returned: int) -> None:
    """Submit each wave, run a round and check it; then finish and return some jobs."""
    serial = 0
    for wave in waves:
        for shape in wave:
            serial += 1
            submit_shape(w, shape, serial)
        before = w.db.read()
        result = w.round()
        check_invariants(w, result, before)
        running = sorted(
            (j for j in w.db.read().jobs() if j.active_run is not None and j.spec.gang is None),
            key=lambda j: j.job_id,  # not the job database's order, which follows str hashes
        )
        for job in running[:finish]:
            run = job.active_run
            assert run is not None
            w.apply(
                ev.JobRunSucceeded(job_id=job.job_id, run_id=run.run_id),
                ev.JobSucceeded(job_id=job.job_id),
            )
        for job in running[finish:][-returned:] if returned else []:
            run = job.active_run
            assert run is not None
            w.apply(
                ev.JobRunLeaseReturned(job_id=job.job_id, run_id=run.run_id),
                ev.JobRequeued(job_id=job.job_id, avoid_nodes=(run.node,)),
            )
    w.db.validate()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cluster=clusters(),
    waves=st.lists(st.lists(job_shapes, min_size=1, max_size=5), min_size=2, max_size=4),
    factors=st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=3, max_size=3),
    protected=st.sampled_from([0.0, 0.5, 1.0]),
    finish=st.integers(0, 3),
    returned=st.integers(0, 2),
)
def test_random_rounds_keep_every_invariant(
    cluster: list[Node],
    waves: list[list[dict[str, Any]]],
    factors: list[float],
    protected: float,
    finish: int,
    returned: int,
) -> None:
    queues = [Queue(name=f"q{i + 1}", priority_factor=f) for i, f in enumerate(factors)]
    w = World(cluster, queues, protected_fraction_of_fair_share=protected)
    run_waves(w, waves, finish, returned)


# Crowded worlds: one pool, no taints or selectors, a full cluster and newcomers, so that
# most examples preempt (fair share, urgency and gangs) and every preemption gets checked.
# (Overriding keys of JOB_SHAPE keeps their order, so the draws keep theirs.)
crowded_shapes = st.fixed_dictionaries(
    {
        **JOB_SHAPE,
        "n": st.integers(1, 8),
        "cpu": st.integers(1, 3),
        "memory_gi": st.just(1),
        "zone": st.just(""),
        "tolerate": st.just(False),
        "pools": st.just(()),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(2, 6), min_size=1, max_size=4),
    waves=st.lists(st.lists(crowded_shapes, min_size=2, max_size=6), min_size=2, max_size=4),
    factors=st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=3, max_size=3),
    protected=st.sampled_from([0.0, 0.5, 1.0]),
    finish=st.integers(0, 2),
)
def test_crowded_rounds_explain_every_preemption(
    sizes: list[int],
    waves: list[list[dict[str, Any]]],
    factors: list[float],
    protected: float,
    finish: int,
) -> None:
    cluster = [
        node(f"n{i}", cpu=cpu, memory_gi=64, pool="p1", labels={"zone": "ab"[i % 2]})
        for i, cpu in enumerate(sizes)
    ]
    queues = [Queue(name=f"q{i + 1}", priority_factor=f) for i, f in enumerate(factors)]
    w = World(cluster, queues, protected_fraction_of_fair_share=protected)
    run_waves(w, waves, finish, returned=0)

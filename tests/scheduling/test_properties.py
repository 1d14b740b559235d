"""Property test: random clusters and workloads, several rounds, invariants after each."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from armada.domain import events as ev
from armada.domain.jobs import Gang, Taint, Toleration
from armada.domain.queues import Queue
from armada.scheduling.model import SchedulingResult
from armada.scheduling.nodes import Node, affinity_matches, selector_matches, untolerated_taint
from armada.scheduling.resources import ResourceSpace
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


job_shapes = st.fixed_dictionaries(
    {
        "queue": st.sampled_from(["q1", "q2", "q3"]),
        "n": st.integers(1, 4),
        "cpu": st.integers(1, 4),
        "memory_gi": st.integers(1, 4),
        "priority_class": st.sampled_from(sorted(CLASSES)),
        "zone": st.sampled_from(["", "a", "b"]),
        "tolerate": st.booleans(),
        "gang": st.integers(0, 3),
        "uniform": st.booleans(),
        "pools": st.sampled_from([(), ("p1",), ("p2",), ("p3",), ("p1", "p2")]),
    }
)


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
    for p in result.preemptions:
        klass = before[p.job_id].spec.priority_class
        if p.kind == "fair-share":
            assert CLASSES[klass].preemptible, f"{p.job_id} of {klass} fair-share preempted"
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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cluster=clusters(),
    waves=st.lists(st.lists(job_shapes, min_size=1, max_size=5), min_size=1, max_size=4),
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
    serial = 0
    for wave in waves:
        for shape in wave:
            serial += 1
            submit_shape(w, shape, serial)
        before = w.db.read()
        result = w.round()
        check_invariants(w, result, before)
        done = [j for j in w.db.read().jobs() if j.active_run is not None and j.spec.gang is None][
            :finish
        ]
        for job in done:
            run = job.active_run
            assert run is not None
            w.apply(
                ev.JobRunSucceeded(job_id=job.job_id, run_id=run.run_id),
                ev.JobSucceeded(job_id=job.job_id),
            )
        running = [
            j for j in w.db.read().jobs() if j.active_run is not None and j.spec.gang is None
        ]
        for job in running[-returned:] if returned else []:
            run = job.active_run
            assert run is not None
            w.apply(
                ev.JobRunLeaseReturned(job_id=job.job_id, run_id=run.run_id),
                ev.JobRequeued(job_id=job.job_id, avoid_nodes=(run.node,)),
            )
    w.db.validate()

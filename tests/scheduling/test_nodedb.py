"""The vectorised node database agrees with the scalar Kubernetes rules and a brute force."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from armada.domain.jobs import (
    NodeSelectorRequirement,
    NodeSelectorTerm,
    SchedulingRequirements,
    Taint,
    Toleration,
)
from armada.scheduling.keys import KeyTable
from armada.scheduling.nodedb import PoolNodeDb
from armada.scheduling.nodes import Node, affinity_matches, selector_matches, untolerated_taint
from armada.scheduling.resources import ResourceSpace

SPACE = ResourceSpace({"cpu": 1, "memory": 1})
values = st.sampled_from(["a", "b", "1", "7", "12"])
labels = st.dictionaries(st.sampled_from(["zone", "size", "tier"]), values, max_size=3)
taints = st.lists(
    st.builds(
        Taint,
        key=st.sampled_from(["gpu", "spot"]),
        value=st.sampled_from(["", "yes"]),
        effect=st.sampled_from(["NoSchedule", "NoExecute", "PreferNoSchedule"]),
    ),
    max_size=2,
).map(tuple)
tolerations = st.lists(
    st.builds(
        Toleration,
        key=st.sampled_from(["", "gpu", "spot"]),
        operator=st.sampled_from(["Equal", "Exists"]),
        value=st.sampled_from(["", "yes"]),
        effect=st.sampled_from(["", "NoSchedule", "NoExecute"]),
    ),
    max_size=2,
).map(tuple)
expressions = st.builds(
    NodeSelectorRequirement,
    key=st.sampled_from(["zone", "size", "tier"]),
    operator=st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]),
    values=st.lists(values, min_size=1, max_size=2).map(tuple),
)
terms = st.lists(
    st.builds(NodeSelectorTerm, match_expressions=st.lists(expressions, max_size=2).map(tuple)),
    max_size=2,
).map(tuple)


@settings(max_examples=200, deadline=None)
@given(
    node_specs=st.lists(st.tuples(labels, taints, st.booleans()), min_size=1, max_size=8),
    selector=st.dictionaries(st.sampled_from(["zone", "tier"]), values, max_size=1),
    tols=tolerations,
    affinity=terms,
)
def test_vectorised_matching_agrees_with_the_scalar_rules(
    node_specs: list[tuple[dict[str, str], tuple[Taint, ...], bool]],
    selector: dict[str, str],
    tols: tuple[Toleration, ...],
    affinity: tuple[NodeSelectorTerm, ...],
) -> None:
    nodes = [
        Node(
            executor="c",
            name=f"n{i}",
            pool="p",
            allocatable={"cpu": 1},
            labels=lab,
            taints=tn,
            unschedulable=off,
        )
        for i, (lab, tn, off) in enumerate(node_specs)
    ]
    db = PoolNodeDb("p", nodes, SPACE, [0])
    req = SchedulingRequirements(
        resources={"cpu": 1},
        priority_class="x",
        node_selector=selector,
        tolerations=tols,
        node_affinity=affinity,
    )
    key = KeyTable({}, 0).intern(req)
    expected = [
        i
        for i, n in enumerate(db.nodes)
        if not n.unschedulable
        and selector_matches(selector, n.labels)
        and untolerated_taint(tols, n.taints) is None
        and affinity_matches(affinity, n.labels)
    ]
    assert db.matching(key).tolist() == expected


@settings(max_examples=100, deadline=None)
@given(
    capacities=st.lists(st.integers(1, 6), min_size=1, max_size=6),
    requests=st.lists(st.tuples(st.integers(1, 3), st.booleans()), min_size=1, max_size=30),
)
def test_remembered_choices_equal_a_full_best_fit_search(
    capacities: list[int], requests: list[tuple[int, bool]]
) -> None:
    nodes = [
        Node(executor="c", name=f"n{i}", pool="p", allocatable={"cpu": c, "memory": 10})
        for i, c in enumerate(capacities)
    ]
    db = PoolNodeDb("p", nodes, SPACE, [0])
    keys = KeyTable({}, 0)
    placed: list[str] = []
    for n, (cpu, remove) in enumerate(requests):
        if remove and placed:
            db.unbind(placed.pop(0))
            continue
        key = keys.intern(SchedulingRequirements(resources={"cpu": cpu}, priority_class="x"))
        request = np.array([cpu, 0], dtype=np.int64)
        free = db.avail[0][:, 0]
        fitting = [i for i in range(len(nodes)) if free[i] >= cpu]
        best = min(fitting, key=lambda i: (free[i], i)) if fitting else None
        choice = db.select(key, request, 0)
        assert (choice.node if choice else None) == best
        if choice is not None:
            db.bind(f"j{n}", "q", choice.node, request, 0)
            placed.append(f"j{n}")

"""The submit check: jobs that could never fit are rejected with the closest node named."""

from __future__ import annotations

from armada.domain.jobs import Gang, Taint, Toleration
from armada.scheduling.submitcheck import SubmitChecker
from tests.builders import requirements
from tests.scheduling.world import CPU, GI, node, settings


def checker() -> SubmitChecker:
    nodes = [
        node("small", cpu=8, memory_gi=32, pool="cpu"),
        node("big", cpu=32, memory_gi=128, pool="cpu", unschedulable=True),
        node(
            "gpu",
            cpu=16,
            memory_gi=64,
            pool="gpu",
            gpu=4,
            labels={"zone": "z1"},
            taints=(Taint(key="nvidia.com/gpu", effect="NoSchedule"),),
        ),
    ]
    return SubmitChecker(nodes, settings())


def test_a_job_that_fits_somewhere_passes_with_its_pools() -> None:
    result = checker().check_submittable(requirements(resources={"cpu": 30 * CPU}))
    assert result.ok and result.pools == ("cpu",)


def test_a_never_fitting_job_is_rejected_naming_the_largest_node_and_short_resource() -> None:
    result = checker().check_submittable(requirements(resources={"cpu": 64 * CPU, "memory": GI}))
    assert not result.ok
    assert "big in pool cpu" in result.reason and "cpu=32" in result.reason


def test_taints_count_in_the_submit_check() -> None:
    check = checker()
    gpu_job = requirements(resources={"cpu": CPU, "nvidia.com/gpu": 1000})
    assert not check.check_submittable(gpu_job).ok
    tolerant = requirements(
        resources={"cpu": CPU, "nvidia.com/gpu": 1000},
        tolerations=(Toleration(key="nvidia.com/gpu", operator="Exists"),),
    )
    assert check.check_submittable(tolerant).pools == ("gpu",)


def test_unknown_resources_and_unmatched_selectors_are_rejected() -> None:
    check = checker()
    assert (
        "which no node offers"
        in check.check_submittable(requirements(resources={"example.com/fpga": 1000})).reason
    )
    reason = check.check_submittable(requirements(node_selector={"zone": "nowhere"})).reason
    assert "no node matches" in reason and "zone=nowhere" in reason


def test_a_gang_must_fit_all_at_once() -> None:
    check = checker()
    req = requirements(resources={"cpu": 16 * CPU})
    assert check.check_submittable(req, Gang(id="g", cardinality=2)).ok
    result = check.check_submittable(req, Gang(id="g", cardinality=3))
    assert not result.ok and "gang of 3" in result.reason


def test_answers_are_cached_by_scheduling_key() -> None:
    check = checker()
    first = check.check_submittable(requirements(resources={"cpu": 64 * CPU}))
    again = check.check_submittable(requirements(resources={"cpu": 64 * CPU}))
    assert first is again


def test_the_rejection_says_when_the_resolution_rounded_the_node_down() -> None:
    """Issue 14.4: a 256Gi node is offered as 262100Mi (memory's resolution is 100Mi, as in
    Armada), so a job asking 256Gi is rejected; the reason says why the figure is not 256Gi."""
    check = SubmitChecker([node("n", cpu=32, memory_gi=256)], settings())
    result = check.check_submittable(requirements(resources={"cpu": CPU, "memory": 256 * GI}))
    assert not result.ok
    assert "memory=262100Mi (256Gi rounded down to indexedResources' 100Mi resolution)" in (
        result.reason
    )


def test_a_gang_no_uniformity_value_could_hold_is_rejected() -> None:
    # Deliberately unlike Armada (which admits it, to wait for ever): two zones of one 8-CPU
    # node each can hold the gang's two 6-CPU members only across zones.
    check = SubmitChecker(
        [
            node("a1", cpu=8, labels={"zone": "a"}),
            node("b1", cpu=8, labels={"zone": "b"}),
        ],
        settings(),
    )
    req = requirements(resources={"cpu": 6 * CPU})
    assert check.check_submittable(req, Gang(id="g", cardinality=2)).ok
    uniform = check.check_submittable(
        req, Gang(id="g", cardinality=2, node_uniformity_label="zone")
    )
    assert not uniform.ok and "gang of 2" in uniform.reason


def test_a_job_of_every_shape_does_not_grow_the_checker_for_ever() -> None:
    nodes = [node("small", cpu=8, memory_gi=32, pool="cpu")]
    check = SubmitChecker(nodes, settings(), max_cached_shapes=10)
    for i in range(100):
        result = check.check_submittable(requirements(resources={"cpu": CPU, "memory": GI + i}))
        assert result.ok
        assert len(check.keys) <= 10 and len(check.pools["cpu"]._static) <= 10
    too_big = check.check_submittable(requirements(resources={"cpu": 64 * CPU}))
    assert not too_big.ok and "cpu" in too_big.reason  # answers stay right after a restart

"""The fake cluster on virtual time: binding, lifetimes, failures, deletion, logs, scale."""

from __future__ import annotations

import random

import pytest

from armada.config.executor import FakeClusterSettings, NodeGroupSettings, TaintSettings
from armada.domain.clock import ManualClock
from armada.executor.cluster import ClusterError, PodChange, PodNotFound, PodSnapshot
from armada.executor.fake import FakeCluster
from armada.executor.fake_scenario import (
    EXIT_CODE_ANNOTATION,
    FAILURE_ANNOTATION,
    OUTPUT_ANNOTATION,
    RUNTIME_ANNOTATION,
    echoed_lines,
    sleep_seconds,
)
from armada.executor.model import PodPlan, PodView
from armada.executor.planning import plan_pod
from armada.executor.testing import lease_message, pod_spec_bytes
from armada.executor.wire import lease_from_proto
from tests.executor.conftest import fast_settings


def make(clock: ManualClock, groups: list[NodeGroupSettings] | None = None) -> FakeCluster:
    settings = FakeClusterSettings(
        node_groups=groups
        or [NodeGroupSettings(name="node", count=2, resources={"cpu": "4", "memory": "8Gi"})],
        startup_delay="1s",
    )
    return FakeCluster(settings, clock=clock, auto_advance=False)


def plan(job: str, command: list[str], node: str = "node-0", **kwargs: object) -> PodPlan:
    spec = kwargs.pop("pod_spec", None) or pod_spec_bytes(command)
    message = lease_message(job, node=node, pod_spec=spec, **kwargs)  # type: ignore[arg-type]
    return plan_pod(lease_from_proto(message), fast_settings())


def view(cluster: FakeCluster, job: str) -> PodView:
    found = cluster._store.get("default", f"armada-{job}-0")
    assert found is not None
    return found


def advance(clock: ManualClock, cluster: FakeCluster, seconds: float) -> None:
    clock.advance(seconds)
    cluster.step()


@pytest.mark.parametrize(
    ("argv", "seconds"),
    [
        (["sleep", "60"], 60.0),
        (["sleep", "30s"], 30.0),
        (["sleep", "1m"], 60.0),
        (["sleep", "1.5"], 1.5),
        (["sh", "-c", "sleep 5"], 5.0),
        (["sh", "-c", "echo hi; sleep 2; sleep 3"], 5.0),
        (["bash", "-c", "sleep 2h"], 7200.0),
        (["true"], None),
        (["python", "train.py", "--sleepy", "3"], None),
    ],
)
def test_sleep_durations_are_read_from_command_lines(
    argv: list[str], seconds: float | None
) -> None:
    assert sleep_seconds(argv, random.Random(0)) == seconds


def test_armadas_random_sleep_is_reproducible_and_in_range() -> None:
    argv = ["sh", "-c", "sleep $(( (RANDOM % 60) + 10 ))"]
    values = {sleep_seconds(argv, random.Random(seed)) for seed in range(50)}
    assert all(v is not None and 10 <= v < 70 for v in values) and len(values) > 5
    assert sleep_seconds(argv, random.Random(1)) == sleep_seconds(argv, random.Random(1))


def test_echo_commands_are_printed() -> None:
    assert echoed_lines(["echo", "hello", "world"]) == ["hello world"]
    assert echoed_lines(["sh", "-c", "echo 'a b'; sleep 1 && echo c"]) == ["a b", "c"]


async def test_a_pod_binds_runs_for_its_sleep_and_succeeds() -> None:
    clock = ManualClock(start=1000.0)
    cluster = make(clock)
    await cluster.create_run(plan("j1", ["sleep", "10"]))
    assert (view(cluster, "j1").phase, view(cluster, "j1").node) == ("Pending", "node-0")
    advance(clock, cluster, 0.9)
    assert view(cluster, "j1").phase == "Pending"
    advance(clock, cluster, 0.1)
    running = view(cluster, "j1")
    assert running.phase == "Running" and running.started == 1001.0
    assert running.containers[0].state == "running"
    advance(clock, cluster, 9.9)
    assert view(cluster, "j1").phase == "Running"
    advance(clock, cluster, 0.1)
    done = view(cluster, "j1")
    assert done.phase == "Succeeded"
    assert (done.containers[0].exit_code, done.containers[0].reason) == (0, "Completed")


async def test_the_watch_sees_every_transition_in_order() -> None:
    clock = ManualClock()
    cluster = make(clock)
    watch = cluster.watch_pods()
    assert await anext(watch) == PodSnapshot([])
    await cluster.create_run(plan("j1", ["sleep", "1"]))
    advance(clock, cluster, 1.0)
    advance(clock, cluster, 1.0)
    seen = []
    for _ in range(4):
        item = await anext(watch)
        assert isinstance(item, PodChange)
        seen.append((item.kind, item.pod.phase, item.pod.node))
    assert seen == [
        ("ADDED", "Pending", ""),
        ("MODIFIED", "Pending", "node-0"),
        ("MODIFIED", "Running", "node-0"),
        ("MODIFIED", "Succeeded", "node-0"),
    ]
    await watch.aclose()


async def test_annotations_choose_runtime_exit_code_and_failures() -> None:
    clock = ManualClock()
    cluster = make(clock, [NodeGroupSettings(name="node", count=8)])
    cases = {
        "runtime": ({RUNTIME_ANNOTATION: "3s"}, "Succeeded", "", "Completed", 0),
        "code": ({EXIT_CODE_ANNOTATION: "7"}, "Failed", "", "Error", 7),
        "oom": ({FAILURE_ANNOTATION: "oom"}, "Failed", "", "OOMKilled", 137),
        "evicted": ({FAILURE_ANNOTATION: "evicted"}, "Failed", "Evicted", "Error", 137),
        "deadline": ({FAILURE_ANNOTATION: "deadline"}, "Failed", "DeadlineExceeded", "Error", 137),
    }
    for index, (job, (wanted, *_)) in enumerate(cases.items()):
        await cluster.create_run(
            plan(job, ["sleep", "100"], node=f"node-{index}", annotations=wanted)
        )
    advance(clock, cluster, 1.0)
    advance(clock, cluster, 3.0)
    assert view(cluster, "runtime").phase == "Succeeded"
    advance(clock, cluster, 100.0)
    for job, (_, phase, reason, container_reason, code) in cases.items():
        pod = view(cluster, job)
        assert (pod.phase, pod.reason) == (phase, reason), job
        assert (pod.containers[0].reason, pod.containers[0].exit_code) == (
            container_reason,
            code,
        ), job


async def test_pods_that_cannot_start_stay_pending_the_way_kubelet_shows_it() -> None:
    clock = ManualClock()
    cluster = make(clock, [NodeGroupSettings(name="node", count=4)])
    for index, failure in enumerate(
        ("image-pull", "invalid-image", "stuck-pending", "unschedulable")
    ):
        await cluster.create_run(
            plan(
                failure,
                ["sleep", "1"],
                node=f"node-{index}",
                annotations={FAILURE_ANNOTATION: failure},
            )
        )
    advance(clock, cluster, 60.0)
    assert view(cluster, "image-pull").containers[0].reason == "ErrImagePull"
    events = await cluster.pod_events([("default", "armada-image-pull-0")])
    assert any(
        "failed to pull and unpack" in e.message for e in events[("default", "armada-image-pull-0")]
    )
    assert view(cluster, "invalid-image").containers[0].reason == "InvalidImageName"
    assert view(cluster, "stuck-pending").containers[0].reason == "ContainerCreating"
    unschedulable = view(cluster, "unschedulable")
    assert unschedulable.node == "" and unschedulable.phase == "Pending"
    events = await cluster.pod_events([("default", "armada-unschedulable-0")])
    assert events[("default", "armada-unschedulable-0")][0].reason == "FailedScheduling"


async def test_binding_honours_node_existence_resources_cordons_and_taints() -> None:
    clock = ManualClock()
    cluster = make(
        clock,
        [
            NodeGroupSettings(name="small", count=1, resources={"cpu": "1", "memory": "1Gi"}),
            NodeGroupSettings(
                name="gpu", count=1, taints=[TaintSettings(key="gpu", effect="NoSchedule")]
            ),
            NodeGroupSettings(name="off", count=1, unschedulable=True),
        ],
    )
    big = pod_spec_bytes(["sleep", "5"], cpu="2")
    await cluster.create_run(plan("too-big", [], node="small-0", pod_spec=big))
    await cluster.create_run(plan("fits", ["sleep", "5"], node="small-0"))
    await cluster.create_run(plan("tainted", ["sleep", "5"], node="gpu-0"))
    await cluster.create_run(plan("cordoned", ["sleep", "5"], node="off-0"))
    await cluster.create_run(plan("nowhere", ["sleep", "5"], node="missing-node"))
    assert [
        view(cluster, j).node for j in ("too-big", "fits", "tainted", "cordoned", "nowhere")
    ] == ["", "small-0", "", "", ""]


async def test_resources_are_released_when_a_pod_ends() -> None:
    clock = ManualClock()
    cluster = make(
        clock, [NodeGroupSettings(name="n", count=1, resources={"cpu": "1", "memory": "1Gi"})]
    )
    await cluster.create_run(
        plan("a", ["sleep", "5"], node="n-0", pod_spec=pod_spec_bytes(["sleep", "5"], cpu="1"))
    )
    await cluster.create_run(
        plan("b", ["sleep", "5"], node="n-0", pod_spec=pod_spec_bytes(["sleep", "5"], cpu="1"))
    )
    assert view(cluster, "b").node == ""
    advance(clock, cluster, 1.0)
    advance(clock, cluster, 5.0)  # a finishes; b binds on the next step
    advance(clock, cluster, 0.0)
    assert view(cluster, "b").node == "n-0"


async def test_the_active_deadline_is_enforced() -> None:
    clock = ManualClock()
    cluster = make(clock)
    spec = pod_spec_bytes(["sleep", "100"], active_deadline_seconds=10)
    await cluster.create_run(plan("j1", [], pod_spec=spec))
    advance(clock, cluster, 1.0)
    advance(clock, cluster, 10.0)
    pod = view(cluster, "j1")
    assert (pod.phase, pod.reason) == ("Failed", "DeadlineExceeded")


async def test_graceful_and_immediate_deletion() -> None:
    clock = ManualClock()
    cluster = make(clock)
    await cluster.create_run(plan("j1", ["sleep", "100"]))
    await cluster.create_run(
        plan(
            "j2",
            ["sleep", "100"],
            node="node-1",
            annotations={"armadaproject.io/fake-ignore-sigterm": "true"},
        )
    )
    advance(clock, cluster, 1.0)
    assert not await cluster.delete_pod("default", "armada-j1-0", run_id="run-j1", grace=30)
    assert view(cluster, "j1").deleting_since == clock.now()
    advance(clock, cluster, 1.0)  # the kubelet stops it quickly
    assert cluster._store.get("default", "armada-j1-0") is None
    assert not await cluster.delete_pod("default", "armada-j2-0", run_id="run-j2", grace=30)
    advance(clock, cluster, 10.0)
    assert view(cluster, "j2").deleting_since is not None  # ignores SIGTERM: still there
    assert await cluster.delete_pod("default", "armada-j2-0", run_id="run-j2", grace=0, force=True)
    assert cluster.pod_count() == 0
    assert await cluster.delete_pod("default", "armada-j2-0", run_id="run-j2", grace=30)


async def test_a_pod_name_taken_by_another_run_is_refused_but_the_same_run_is_fine() -> None:
    cluster = make(ManualClock())
    first = plan("j1", ["sleep", "1"])
    await cluster.create_run(first)
    await cluster.create_run(first)
    second = plan_pod(
        lease_from_proto(lease_message("j1", run_id="other", node="node-0")), fast_settings()
    )
    with pytest.raises(ClusterError, match="already exists"):
        await cluster.create_run(second)
    with pytest.raises(ClusterError, match="fake-failure") as bad:
        await cluster.create_run(
            plan("j9", ["sleep", "1"], annotations={FAILURE_ANNOTATION: "explode"})
        )
    assert bad.value.fatal


async def test_logs_hold_what_the_pod_printed() -> None:
    clock = ManualClock(start=1_700_000_000.0)
    cluster = make(clock)
    await cluster.create_run(
        plan(
            "j1",
            ["sh", "-c", "echo hello; sleep 2"],
            annotations={OUTPUT_ANNOTATION: "step 1\nstep 2"},
        )
    )
    advance(clock, cluster, 1.0)
    advance(clock, cluster, 2.0)
    lines = [line.line for line in await cluster.read_log("default", "armada-j1-0")]
    assert lines[1:4] == ["hello", "step 1", "step 2"]
    assert lines[-1] == "fake: container main exited with code 0"
    tail = await cluster.read_log("default", "armada-j1-0", tail_lines=1)
    assert [line.line for line in tail] == [lines[-1]]
    later = await cluster.read_log("default", "armada-j1-0", since_time="2023-11-14T22:13:22Z")
    assert [line.line for line in later] == [lines[-1]]
    with pytest.raises(PodNotFound):
        await cluster.read_log("default", "nothing")


async def test_a_thousand_nodes_and_ten_thousand_pods_are_cheap() -> None:
    clock = ManualClock()
    groups = [
        NodeGroupSettings(name=f"g{g}", count=500, resources={"cpu": "32", "memory": "128Gi"})
        for g in range(2)
    ]
    cluster = make(clock, groups)
    assert len(await cluster.list_nodes()) == 1000
    for index in range(10_000):
        node = f"g{index % 2}-{index % 500}"
        await cluster.create_run(plan(f"j{index}", ["sleep", str(1 + index % 5)], node=node))
    advance(clock, cluster, 1.0)
    advance(clock, cluster, 5.0)
    phases = {p.phase for p in cluster._store.pods()}
    assert phases == {"Succeeded"} and cluster.pod_count() == 10_000


async def test_a_pod_in_a_namespace_that_does_not_exist_is_refused() -> None:
    """As the API server refuses it; the error fails the job (Armada's failure_namespace)."""
    import dataclasses

    cluster = make(ManualClock())
    run = dataclasses.replace(plan("j1", ["sleep", "1"]), namespace="invalid-namespace")
    with pytest.raises(ClusterError, match='namespaces "invalid-namespace" not found') as refused:
        await cluster.create_run(run)
    assert refused.value.fatal
    await cluster.create_run(plan("j2", ["sleep", "1"]))
    await cluster.close()

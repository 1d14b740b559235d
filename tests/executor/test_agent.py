"""The executor end to end: a real gRPC fake scheduler, the agent, the fake cluster."""

from __future__ import annotations

import asyncio

from armada.executor.fake import FakeCluster
from armada.executor.fake_scenario import EXIT_CODE_ANNOTATION, FAILURE_ANNOTATION
from armada.executor.testing import FakeScheduler, lease_message, pod_spec_bytes
from armada.rpc.gen import executorapi_pb2 as pb
from tests.executor.conftest import fast_settings, running_agent

FINAL = {"succeeded", "failed", "cancelled", "lease_returned"}


def finished(scheduler: FakeScheduler, *run_ids: str) -> bool:
    return all(FINAL & set(scheduler.kinds(r)) for r in run_ids)


async def test_a_lease_becomes_a_pod_that_runs_and_succeeds(scheduler: FakeScheduler) -> None:
    settings = fast_settings(scheduler.address)
    cluster = FakeCluster(settings.fake, name="cluster-1")
    async with running_agent(settings, cluster):
        scheduler.add_lease(lease_message("job-1", command=["sleep", "0.1"], node="node-2"))
        await scheduler.wait_until(lambda: finished(scheduler, "run-job-1"))
    await cluster.close()
    assert scheduler.kinds("run-job-1") == ["assigned", "running", "succeeded"]
    assigned = scheduler.last_of("run-job-1", "assigned").assigned
    assert (assigned.pod_name, assigned.node, assigned.namespace) == (
        "armada-job-1-0",
        "node-2",
        "default",
    )
    succeeded = scheduler.last_of("run-job-1", "succeeded").succeeded
    assert (succeeded.pod_name, succeeded.node) == ("armada-job-1-0", "node-2")
    created = [e.created for e in scheduler.events if e.run_id == "run-job-1"]
    assert created == sorted(created)


async def test_a_non_zero_exit_is_reported_failed_with_code_and_category(
    scheduler: FakeScheduler,
) -> None:
    settings = fast_settings(scheduler.address)
    cluster = FakeCluster(settings.fake)
    async with running_agent(settings, cluster):
        scheduler.add_lease(
            lease_message(
                "job-1",
                command=["sleep", "0.05"],
                node="node-0",
                annotations={EXIT_CODE_ANNOTATION: "3"},
            )
        )
        scheduler.add_lease(
            lease_message(
                "job-2",
                command=["sleep", "0.05"],
                node="node-1",
                annotations={FAILURE_ANNOTATION: "oom"},
            )
        )
        await scheduler.wait_until(lambda: finished(scheduler, "run-job-1", "run-job-2"))
    await cluster.close()
    failed = scheduler.last_of("run-job-1", "failed").failed
    assert dict(failed.exit_codes) == {"main": 3}
    assert (failed.cause, failed.category, failed.subcategory) == (
        "Error",
        "uncategorized",
        "",
    )
    assert "exited with code 3" in failed.reason
    oom = scheduler.last_of("run-job-2", "failed").failed
    assert (oom.cause, oom.category, dict(oom.exit_codes)) == ("OOM", "oom", {"main": 137})


async def test_cancel_deletes_the_pod_then_reports_cancelled(scheduler: FakeScheduler) -> None:
    settings = fast_settings(scheduler.address)
    cluster = FakeCluster(settings.fake)
    async with running_agent(settings, cluster):
        scheduler.add_lease(lease_message("job-1", command=["sleep", "60"], node="node-0"))
        await scheduler.wait_until(lambda: "running" in scheduler.kinds("run-job-1"))
        scheduler.cancel("run-job-1")
        await scheduler.wait_until(lambda: finished(scheduler, "run-job-1"))
        assert cluster.pod_count() == 0
    await cluster.close()
    assert scheduler.kinds("run-job-1") == ["assigned", "running", "cancelled"]


async def test_preemption_deletes_the_pod_then_reports_cancelled(scheduler: FakeScheduler) -> None:
    settings = fast_settings(scheduler.address)
    cluster = FakeCluster(settings.fake)
    async with running_agent(settings, cluster):
        scheduler.add_lease(lease_message("job-1", command=["sleep", "60"], node="node-0"))
        await scheduler.wait_until(lambda: "running" in scheduler.kinds("run-job-1"))
        scheduler.preempt("run-job-1")
        await scheduler.wait_until(lambda: finished(scheduler, "run-job-1"))
        assert cluster.pod_count() == 0
    await cluster.close()
    assert scheduler.kinds("run-job-1")[-1] == "cancelled"


async def test_a_cancel_before_the_pod_exists_creates_nothing(scheduler: FakeScheduler) -> None:
    settings = fast_settings(scheduler.address, max_leased_jobs=0)
    cluster = FakeCluster(settings.fake)
    async with running_agent(settings, cluster) as agent:
        # No room to lease: the lease is pushed anyway (as after a cycle) but the budget is 0,
        # so hand it over through a stream message directly.
        agent.execute(agent.tracker.lease(_lease("job-1"), 0.0))
        agent.execute(agent.tracker.cancel(["run-job-1"], 0.0))
        await scheduler.wait_until(lambda: finished(scheduler, "run-job-1"))
        assert cluster.pod_count() == 0
    await cluster.close()
    assert scheduler.kinds("run-job-1") == ["cancelled"]


def _lease(job_id: str):  # type: ignore[no-untyped-def]
    from armada.executor.wire import lease_from_proto

    return lease_from_proto(lease_message(job_id, command=["sleep", "60"], node="node-0"))


async def test_a_gang_of_three_gets_three_pods_with_gang_variables(
    scheduler: FakeScheduler,
) -> None:
    settings = fast_settings(scheduler.address)
    cluster = FakeCluster(settings.fake)
    async with running_agent(settings, cluster):
        for index in range(3):
            lease = lease_message(f"gang-{index}", command=["sleep", "30"], node=f"node-{index}")
            lease.gang.CopyFrom(
                pb.GangInfo(
                    id="g1",
                    cardinality=3,
                    node_uniformity_label="rack",
                    node_uniformity_value="r1",
                )
            )
            scheduler.add_lease(lease)
        runs = [f"run-gang-{i}" for i in range(3)]
        await scheduler.wait_until(lambda: all("running" in scheduler.kinds(r) for r in runs))
        nodes = {scheduler.last_of(r, "running").running.node for r in runs}
        assert nodes == {"node-0", "node-1", "node-2"}
        pod = cluster._store.get("default", "armada-gang-1-0")
        assert pod is not None and pod.labels["armada_job_run_id"] == "run-gang-1"
        env = cluster._pods[("default", "armada-gang-1-0")].plan.pod["spec"]["containers"][0]["env"]
        values = {item["name"]: item["value"] for item in env}
        assert values["ARMADA_GANG_ID"] == "g1"
        assert values["ARMADA_GANG_CARDINALITY"] == "3"
        assert values["ARMADA_GANG_NODE_UNIFORMITY_LABEL_NAME"] == "rack"
        assert values["ARMADA_GANG_NODE_UNIFORMITY_LABEL_VALUE"] == "r1"
    await cluster.close()


async def test_lease_requests_describe_the_cluster_and_the_runs(scheduler: FakeScheduler) -> None:
    settings = fast_settings(scheduler.address, pool="pool-a", max_leased_jobs=7)
    cluster = FakeCluster(settings.fake)
    async with running_agent(settings, cluster):
        scheduler.add_lease(lease_message("job-1", command=["sleep", "60"], node="node-3"))
        await scheduler.wait_until(lambda: "running" in scheduler.kinds("run-job-1"))
        await scheduler.wait_until(
            lambda: any("run-job-1" in n.run_ids for r in scheduler.requests[-1:] for n in r.nodes)
        )
        request = scheduler.requests[-1]
    await cluster.close()
    assert (request.executor_id, request.pool, request.max_jobs_to_lease) == (
        "cluster-1",
        "pool-a",
        7,
    )
    assert list(request.active_run_ids) == ["run-job-1"]
    assert list(request.unassigned_run_ids) == []
    nodes = {n.name: n for n in request.nodes}
    assert sorted(nodes) == ["node-0", "node-1", "node-2", "node-3"]
    assert dict(nodes["node-3"].total_resources) == {
        "cpu": "32",
        "memory": "256Gi",
        "ephemeral-storage": "256Gi",
    }
    assert nodes["node-3"].labels["kubernetes.io/hostname"] == "node-3"
    assert list(nodes["node-3"].run_ids) == ["run-job-1"]


async def test_the_agent_survives_a_scheduler_restart_without_losing_or_repeating_runs() -> None:
    scheduler = FakeScheduler(resend_leases_on_connect=True)
    await scheduler.start()
    settings = fast_settings(scheduler.address)
    cluster = FakeCluster(settings.fake)
    async with running_agent(settings, cluster) as agent:
        scheduler.add_lease(lease_message("job-1", command=["sleep", "0.6"], node="node-0"))
        scheduler.add_lease(lease_message("job-2", command=["sleep", "60"], node="node-1"))
        await scheduler.wait_until(
            lambda: all("running" in scheduler.kinds(r) for r in ("run-job-1", "run-job-2"))
        )
        await scheduler.stop()
        await asyncio.sleep(0.8)  # job-1 finishes while the scheduler is away
        await scheduler.start()
        scheduler.add_lease(lease_message("job-3", command=["sleep", "0.05"], node="node-2"))
        await scheduler.wait_until(lambda: finished(scheduler, "run-job-1", "run-job-3"))
        await scheduler.wait_until(lambda: scheduler.streams_opened >= 2)
        after = [r for r in scheduler.requests if "run-job-2" in r.active_run_ids]
        assert after, "the reconnected executor reports the run it still has"
        assert cluster.pod_count() == 3  # one pod each, none created twice
        assert agent.tracker.get("run-job-2") is not None
    await scheduler.stop()
    await cluster.close()
    assert scheduler.kinds("run-job-1") == ["assigned", "running", "succeeded"]
    assert scheduler.kinds("run-job-2") == ["assigned", "running"]
    assert scheduler.kinds("run-job-3") == ["assigned", "running", "succeeded"]


async def test_failed_event_reports_are_retried_until_they_arrive(scheduler: FakeScheduler) -> None:
    settings = fast_settings(scheduler.address)
    cluster = FakeCluster(settings.fake)
    scheduler.fail_reports = 3
    async with running_agent(settings, cluster) as agent:
        scheduler.add_lease(lease_message("job-1", command=["sleep", "0.05"], node="node-0"))
        await scheduler.wait_until(lambda: finished(scheduler, "run-job-1"))
        assert agent.reporter.failures == 3
    await cluster.close()
    assert scheduler.kinds("run-job-1") == ["assigned", "running", "succeeded"]
    assert scheduler.report_calls >= 4


async def test_a_restarted_executor_adopts_the_pods_it_finds(scheduler: FakeScheduler) -> None:
    settings = fast_settings(scheduler.address)
    cluster = FakeCluster(settings.fake)
    async with running_agent(settings, cluster):
        scheduler.add_lease(lease_message("job-1", command=["sleep", "60"], node="node-0"))
        await scheduler.wait_until(lambda: "running" in scheduler.kinds("run-job-1"))
    scheduler.requests.clear()
    async with running_agent(settings, cluster) as agent:
        await scheduler.wait_until(lambda: bool(scheduler.requests))
        assert list(scheduler.requests[0].active_run_ids) == ["run-job-1"]
        # The scheduler re-sends the lease: it is ignored, no second pod is made.
        scheduler.add_lease(lease_message("job-1", command=["sleep", "60"], node="node-0"))
        await asyncio.sleep(0.1)
        assert cluster.pod_count() == 1
        scheduler.cancel("run-job-1")
        await scheduler.wait_until(lambda: "cancelled" in scheduler.kinds("run-job-1"))
        # Cancelled is reported only once the pod is gone.
        assert cluster.pod_count() == 0
        # Once the scheduler has the final event, the run is forgotten but its id remembered,
        # so the lease sent again is still ignored.
        async with asyncio.timeout(5):
            while agent.tracker.get("run-job-1") is not None:
                await asyncio.sleep(0.01)
        assert agent.tracker.known("run-job-1")
        assert "run-job-1" not in agent.lease_request().active_run_ids
    await cluster.close()
    # The one pod ran once: adopted (its states reported again, harmless to the scheduler),
    # then cancelled.
    assert scheduler.kinds("run-job-1") == [
        "assigned",
        "running",
        "assigned",
        "running",
        "cancelled",
    ]


async def test_a_bad_pod_spec_fails_the_run_without_crashing(scheduler: FakeScheduler) -> None:
    settings = fast_settings(scheduler.address)
    cluster = FakeCluster(settings.fake)
    async with running_agent(settings, cluster):
        scheduler.add_lease(lease_message("job-1", pod_spec=b"\xff\xff\xff", node="node-0"))
        scheduler.add_lease(lease_message("job-2", command=["sleep", "0.05"], node="node-0"))
        await scheduler.wait_until(lambda: finished(scheduler, "run-job-1", "run-job-2"))
    await cluster.close()
    failed = scheduler.last_of("run-job-1", "failed").failed
    assert (failed.category, failed.subcategory) == ("internal", "job-creation-failed")
    assert "not a valid k8s PodSpec" in failed.reason
    assert scheduler.kinds("run-job-2")[-1] == "succeeded"


async def test_a_pod_that_cannot_be_scheduled_is_returned(scheduler: FakeScheduler) -> None:
    from armada.config.executor import PendingPodChecks

    settings = fast_settings(
        scheduler.address, pending_pod_checks=PendingPodChecks(deadline_for_node_assignment="200ms")
    )
    cluster = FakeCluster(settings.fake)
    async with running_agent(settings, cluster):
        spec = pod_spec_bytes(["sleep", "1"], cpu="100")  # more CPU than any node has
        scheduler.add_lease(lease_message("job-1", pod_spec=spec, node="node-0"))
        await scheduler.wait_until(lambda: finished(scheduler, "run-job-1"))
        assert cluster.pod_count() == 0
    await cluster.close()
    assert scheduler.kinds("run-job-1") == ["lease_returned"]
    returned = scheduler.last_of("run-job-1", "lease_returned").lease_returned
    assert not returned.run_attempted
    assert "nodes are available" in returned.reason

"""The Kubernetes backend, through the official client, against the fake API server.

No real cluster is used: :mod:`tests.executor.fake_kube_api` implements the API subset.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from kubernetes import client

from armada.config.executor import (
    ExecutorConfig,
    IngressSettings,
    PendingEventRule,
    PendingPodChecks,
)
from armada.domain.jobs import ServiceConfig
from armada.executor.cluster import ClusterError, PodChange, PodNotFound, PodSnapshot, WatchItem
from armada.executor.kubernetes import KubernetesCluster
from armada.executor.model import PodPlan, RunResource
from armada.executor.planning import plan_pod
from armada.executor.testing import FakeScheduler, lease_message, pod_spec_bytes
from armada.executor.wire import lease_from_proto
from armada.waiting import wait_until_async
from tests.executor.conftest import DETAILED_CATEGORIES, fast_settings, running_agent
from tests.executor.fake_kube_api import FakeKubeApi

NS = "default"


@pytest.fixture
def kube() -> AsyncIterator[FakeKubeApi]:
    api = FakeKubeApi()
    api.start()
    for index in range(2):
        api.add_node(f"node-{index}", {"cpu": "8", "memory": "32Gi", "pods": "110"})
    yield api
    api.stop()


def connect(api: FakeKubeApi, **overrides: object) -> KubernetesCluster:
    configuration = client.Configuration()
    configuration.host = api.url
    settings = fast_settings(**overrides)  # type: ignore[arg-type]
    return KubernetesCluster(settings, api_client=client.ApiClient(configuration))


def plan(job_id: str, node: str = "node-0", **lease_fields: object) -> PodPlan:
    lease = lease_from_proto(lease_message(job_id, command=["sleep", "60"], node=node))
    if lease_fields:
        import dataclasses

        lease = dataclasses.replace(lease, **lease_fields)  # type: ignore[arg-type]
    return plan_pod(lease, fast_settings())


async def next_change(watch: AsyncIterator[WatchItem], name: str) -> PodChange:
    async with asyncio.timeout(5):
        async for item in watch:
            if isinstance(item, PodChange) and item.pod.name == name:
                return item
    raise AssertionError("watch ended")


async def test_create_watch_run_and_succeed(kube: FakeKubeApi) -> None:
    cluster = connect(kube)
    watch = cluster.watch_pods()
    first = await anext(watch)
    assert isinstance(first, PodSnapshot) and first.pods == []
    await cluster.create_run(plan("job-1"))
    created = kube.get("pods", NS, "armada-job-1-0")
    assert created is not None
    assert created["metadata"]["labels"]["armada_job_run_id"] == "run-job-1"
    assert created["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "node-0"}
    added = await next_change(watch, "armada-job-1-0")
    assert (added.kind, added.pod.phase, added.pod.node) == ("ADDED", "Pending", "")
    bound = await next_change(watch, "armada-job-1-0")
    assert bound.pod.node == "node-0"
    kube.run_pod(NS, "armada-job-1-0")
    running = await next_change(watch, "armada-job-1-0")
    assert running.pod.phase == "Running" and running.pod.containers[0].state == "running"
    assert running.pod.pod_ip == "10.1.2.3"
    kube.finish_pod(NS, "armada-job-1-0")
    done = await next_change(watch, "armada-job-1-0")
    assert done.pod.phase == "Succeeded"
    assert done.pod.containers[0].exit_code == 0
    await watch.aclose()
    await cluster.close()


async def test_failures_and_oom_carry_exit_codes_and_reasons(kube: FakeKubeApi) -> None:
    cluster = connect(kube)
    watch = cluster.watch_pods()
    await anext(watch)
    await cluster.create_run(plan("job-1"))
    kube.run_pod(NS, "armada-job-1-0")
    kube.finish_pod(NS, "armada-job-1-0", {"main": 137}, container_reason="OOMKilled")
    change = await next_change(watch, "armada-job-1-0")
    while change.pod.phase != "Failed":
        change = await next_change(watch, "armada-job-1-0")
    container = change.pod.containers[0]
    assert (container.reason, container.exit_code) == ("OOMKilled", 137)
    await watch.aclose()
    await cluster.close()


async def test_creation_errors_are_fatal_or_retryable_as_configured(kube: FakeKubeApi) -> None:
    cluster = connect(kube)
    other_namespace = plan("job-1", namespace="missing")
    with pytest.raises(ClusterError, match='namespaces "missing" not found') as missing:
        await cluster.create_run(other_namespace)
    assert missing.value.fatal
    kube.reject_pods = (400, 'admission webhook "policy" denied the request: no root')
    with pytest.raises(ClusterError, match="admission webhook") as webhook:
        await cluster.create_run(plan("job-2"))
    assert webhook.value.fatal
    kube.reject_pods = (403, 'pods "armada-job-3-0" is forbidden: exceeded quota: compute')
    with pytest.raises(ClusterError, match="exceeded quota") as quota:
        await cluster.create_run(plan("job-3"))
    assert not quota.value.fatal
    kube.reject_pods = None
    first = plan("job-4")
    await cluster.create_run(first)
    await cluster.create_run(first)  # the same run again: idempotent
    import dataclasses

    other_run = dataclasses.replace(first, run_id="another-run")
    other_run.pod["metadata"]["labels"] = {
        **first.pod["metadata"]["labels"],
        "armada_job_run_id": "x",
    }
    with pytest.raises(ClusterError, match="already exists") as clash:
        await cluster.create_run(other_run)
    assert not clash.value.fatal
    await cluster.close()


async def test_a_stale_watch_gets_410_and_the_backend_lists_again(kube: FakeKubeApi) -> None:
    cluster = connect(kube)
    watch = cluster.watch_pods()
    assert isinstance(await anext(watch), PodSnapshot)
    await cluster.create_run(plan("job-1"))
    await next_change(watch, "armada-job-1-0")
    kube.compact()  # etcd compacted: the watch's resourceVersion is now too old
    kube.end_watches()  # the stream breaks; resuming from the old version gets 410 Gone
    async with asyncio.timeout(5):
        item = await anext(watch)
        while not isinstance(item, PodSnapshot):
            item = await anext(watch)
    assert [p.name for p in item.pods] == ["armada-job-1-0"]
    assert kube.expired_watches == 1
    assert kube.requests.count(("GET", "/api/v1/pods")) >= 4  # list, watch, watch (410), list
    kube.run_pod(NS, "armada-job-1-0")
    assert (await next_change(watch, "armada-job-1-0")).pod.phase == "Running"
    await watch.aclose()
    await cluster.close()


async def test_graceful_then_forced_deletion(kube: FakeKubeApi) -> None:
    cluster = connect(kube)
    await cluster.create_run(plan("job-1"))
    kube.run_pod(NS, "armada-job-1-0")
    gone = await cluster.delete_pod(NS, "armada-job-1-0", run_id="run-job-1", grace=30)
    terminating = kube.get("pods", NS, "armada-job-1-0")
    assert not gone and terminating is not None
    assert terminating["metadata"]["deletionGracePeriodSeconds"] == 30
    assert await cluster.delete_pod(NS, "armada-job-1-0", run_id="run-job-1", grace=0, force=True)
    assert kube.get("pods", NS, "armada-job-1-0") is None
    assert await cluster.delete_pod(NS, "armada-job-1-0", run_id="run-job-1", grace=30)
    await cluster.create_run(plan("job-2"))
    kube.run_pod(NS, "armada-job-2-0")
    kube.finish_pod(NS, "armada-job-2-0")
    assert await cluster.delete_pod(NS, "armada-job-2-0", run_id="run-job-2", grace=30)
    await cluster.close()


async def test_nodes_report_what_other_pods_hold(kube: FakeKubeApi) -> None:
    kube.put(
        "pods",
        {
            "metadata": {"name": "daemon", "namespace": "kube-system"},
            "spec": {
                "nodeName": "node-1",
                "containers": [
                    {"name": "d", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}
                ],
            },
            "status": {"phase": "Running"},
        },
    )
    kube.add_node(
        "node-2",
        {"cpu": "4"},
        taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"}],
        unschedulable=True,
    )
    cluster = connect(kube)
    await cluster.create_run(plan("job-1", node="node-1"))  # Armada's own pods do not count
    nodes = {n.name: n for n in await cluster.list_nodes()}
    await cluster.close()
    assert dict(nodes["node-1"].non_armada_allocated) == {"cpu": "500m", "memory": "1Gi"}
    assert dict(nodes["node-0"].non_armada_allocated) == {}
    assert dict(nodes["node-0"].allocatable) == {"cpu": "8", "memory": "32Gi", "pods": "110"}
    assert nodes["node-2"].unschedulable
    assert [(t.key, t.value, t.effect) for t in nodes["node-2"].taints] == [
        ("gpu", "true", "NoSchedule")
    ]


async def test_services_and_orphan_cleanup(kube: FakeKubeApi) -> None:
    cluster = connect(kube)
    with_service = plan("job-1", services=(ServiceConfig(type="NodePort", ports=(8080,)),))
    await cluster.create_run(with_service)
    service = kube.get("services", NS, "armada-job-1-0-nodeport")
    assert service is not None and service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"][0]["port"] == 8080
    resources = await cluster.list_run_resources()
    assert resources == [
        RunResource(
            kind="Service", namespace=NS, name="armada-job-1-0-nodeport", run_id="run-job-1"
        )
    ]
    await cluster.delete_resource(resources[0])
    await cluster.delete_resource(resources[0])  # already gone: fine
    assert kube.objects("services") == []
    await cluster.close()


async def test_pod_events_and_logs(kube: FakeKubeApi) -> None:
    cluster = connect(kube)
    await cluster.create_run(plan("job-1"))
    kube.add_event(
        NS, "armada-job-1-0", "Warning", "Failed", "Failed to pull image", at=1_700_000_000
    )
    events = await cluster.pod_events([(NS, "armada-job-1-0"), (NS, "nothing")])
    # oldest first: the pull failure is stamped in 2023, the scheduling "now"
    assert [e.reason for e in events[(NS, "armada-job-1-0")]] == ["Failed", "Scheduled"]
    failed = events[(NS, "armada-job-1-0")][0]
    assert (failed.type, failed.first_seen) == ("Warning", 1_700_000_000)
    for index, at in enumerate((1_700_000_001, 1_700_000_002, 1_700_000_003)):
        kube.write_log(NS, "armada-job-1-0", "main", f"line {index}", at=at)
    lines = await cluster.read_log(NS, "armada-job-1-0", tail_lines=2)
    assert [line.line for line in lines] == ["line 1", "line 2"]
    assert lines[0].timestamp.startswith("2023-11-14T22:13:22")
    since = await cluster.read_log(NS, "armada-job-1-0", since_time="2023-11-14T22:13:22Z")
    assert [line.line for line in since] == ["line 1", "line 2"]
    with pytest.raises(PodNotFound):
        await cluster.read_log(NS, "nothing")
    with pytest.raises(ClusterError, match="not valid"):
        await cluster.read_log(NS, "armada-job-1-0", container="other")
    await cluster.close()


def agent_on(
    kube: FakeKubeApi, scheduler: FakeScheduler
) -> tuple[ExecutorConfig, KubernetesCluster]:
    """Settings that fail pull errors at once, clean finished pods at once, force after 300ms."""
    checks = PendingPodChecks(
        event_rules=[PendingEventRule(regexp="Failed to pull image", action="fail", grace="0s")]
    )
    settings = fast_settings(
        scheduler.address,
        backend="kubernetes",
        pending_pod_checks=checks,
        minimum_pod_age="0s",
        pod_kill_timeout="300ms",
        failure_categories=DETAILED_CATEGORIES,
    )
    configuration = client.Configuration()
    configuration.host = kube.url
    return settings, KubernetesCluster(settings, api_client=client.ApiClient(configuration))


async def pods_exist(kube: FakeKubeApi, *names: str) -> None:
    await wait_until_async(
        lambda: all(kube.get("pods", NS, name) is not None for name in names), timeout=5
    )


async def test_the_agent_on_kubernetes_end_to_end(
    kube: FakeKubeApi, scheduler: FakeScheduler
) -> None:
    """Lease → pod → kubelet runs it → events; image-pull failure; cancel; cleanup; orphans."""
    settings, cluster = agent_on(kube, scheduler)
    orphan = {"name": "left-over", "namespace": NS, "labels": {"armada_job_run_id": "gone-run"}}
    kube.put("services", {"metadata": orphan, "spec": {}})
    async with running_agent(settings, cluster):
        scheduler.add_lease(lease_message("ok", command=["true"], node="node-0"))
        scheduler.add_lease(lease_message("pull", command=["true"], node="node-1"))
        scheduler.add_lease(lease_message("stop", command=["true"], node="node-1"))
        await pods_exist(kube, "armada-ok-0", "armada-pull-0", "armada-stop-0")
        kube.run_pod(NS, "armada-ok-0")
        kube.run_pod(NS, "armada-stop-0")
        kube.wait_container(NS, "armada-pull-0", "ErrImagePull", "failed to pull and unpack image")
        pull_failed = 'Failed to pull image "busybox": not found'
        kube.add_event(NS, "armada-pull-0", "Warning", "Failed", pull_failed, None)
        await scheduler.wait_until(lambda: "running" in scheduler.kinds("run-ok"))
        kube.finish_pod(NS, "armada-ok-0")
        await scheduler.wait_until(lambda: "running" in scheduler.kinds("run-stop"))
        scheduler.cancel("run-stop")
        await scheduler.wait_until(
            lambda: (
                "succeeded" in scheduler.kinds("run-ok")
                and "failed" in scheduler.kinds("run-pull")
                and "cancelled" in scheduler.kinds("run-stop")
            ),
        )
        # finished and failed pods are cleaned up; orphans too
        await wait_until_async(
            lambda: not (kube.objects("pods") or kube.objects("services")), timeout=5
        )
    await cluster.close()
    assert scheduler.kinds("run-ok") == ["assigned", "running", "succeeded"]
    pull = scheduler.last_of("run-pull", "failed").failed
    assert (pull.category, pull.subcategory) == ("image-pull", "pull-failed")
    assert scheduler.kinds("run-stop")[-1] == "cancelled"
    # The cancelled pod was deleted gracefully first, then forced after the kill timeout.
    deletes = [
        path for method, path in kube.requests if method == "DELETE" and "armada-stop-0" in path
    ]
    assert len(deletes) >= 2


async def test_an_ingress_gets_its_service_and_ingress_owned_by_the_pod_then_cleaned_up(
    kube: FakeKubeApi, scheduler: FakeScheduler
) -> None:
    """Lease with an ingress → Service + Ingress (labels, owner, host, TLS) → IngressInfo →
    both removed once the finished pod is."""
    settings, cluster = agent_on(kube, scheduler)
    settings = settings.model_copy(
        update={
            "kubernetes": settings.kubernetes.model_copy(
                update={
                    "ingress": IngressSettings(
                        hostname_suffix="jobs.example.com", annotations={"class": "nginx"}
                    )
                }
            )
        }
    )
    lease = lease_message("web", command=["serve"], node="node-0")
    lease.ingress.add(ports=[8080], tls_enabled=True, annotations={"timeout": "60s"})
    async with running_agent(settings, cluster):
        scheduler.add_lease(lease)
        # the pod first, then its service and ingress
        await wait_until_async(
            lambda: kube.get("ingresses", NS, "armada-web-0-ingress-0") is not None, timeout=5
        )
        pod = kube.get("pods", NS, "armada-web-0")
        service = kube.get("services", NS, "armada-web-0-ingress-0")
        ingress = kube.get("ingresses", NS, "armada-web-0-ingress-0")
        assert pod is not None and service is not None and ingress is not None
        owner = {"apiVersion": "v1", "kind": "Pod", "name": "armada-web-0"}
        owner["uid"] = pod["metadata"]["uid"]
        owned = {
            "armada_job_id": "web",
            "armada_job_run_id": "run-web",
            "armada_queue_id": "queue-a",
        }
        for made in (service, ingress):
            assert made["metadata"]["labels"] == owned
            assert made["metadata"]["ownerReferences"] == [owner]
        assert service["spec"]["selector"] == {"armada_job_id": "web"}
        assert service["spec"]["clusterIP"] == "None"  # headless unless useClusterIP
        assert [p["port"] for p in service["spec"]["ports"]] == [8080]
        assert ingress["apiVersion"] == "networking.k8s.io/v1"
        assert ingress["metadata"]["annotations"] == {"class": "nginx", "timeout": "60s"}
        host = "8080-armada-web-0.default.jobs.example.com"
        (rule,) = ingress["spec"]["rules"]
        assert rule["host"] == host
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": "armada-web-0-ingress-0", "port": {"number": 8080}}
        assert ingress["spec"]["tls"] == [
            {"hosts": [host], "secretName": "default-ingress-tls-certificate"}
        ]
        kube.run_pod(NS, "armada-web-0")
        await scheduler.wait_until(lambda: "ingress_info" in scheduler.kinds("run-web"))
        info = scheduler.last_of("run-web", "ingress_info").ingress_info
        assert (info.pod_name, info.namespace, info.node) == ("armada-web-0", NS, "node-0")
        assert dict(info.addresses) == {8080: host}
        kube.finish_pod(NS, "armada-web-0")
        await scheduler.wait_until(lambda: "succeeded" in scheduler.kinds("run-web"))
        # the finished pod goes, then its service and ingress
        await wait_until_async(
            lambda: (
                not (kube.objects("pods") or kube.objects("services") or kube.objects("ingresses"))
            ),
            timeout=5,
        )
    await cluster.close()
    assert scheduler.kinds("run-web") == ["assigned", "running", "ingress_info", "succeeded"]


async def test_a_pod_the_kubelet_leaves_running_past_its_deadline_is_failed_by_the_executor(
    kube: FakeKubeApi, scheduler: FakeScheduler
) -> None:
    """The fake kubelet does not enforce activeDeadlineSeconds: the executor's own check does."""
    settings, cluster = agent_on(kube, scheduler)
    settings = settings.model_copy(update={"active_deadline_grace": timedelta(0)})
    spec = pod_spec_bytes(["sleep", "60"], active_deadline_seconds=1, grace_seconds=0)
    async with running_agent(settings, cluster):
        scheduler.add_lease(lease_message("slow", pod_spec=spec, node="node-0"))
        await pods_exist(kube, "armada-slow-0")
        kube.run_pod(NS, "armada-slow-0")
        await scheduler.wait_until(lambda: "failed" in scheduler.kinds("run-slow"))
        # then the pod is deleted
        await wait_until_async(lambda: not kube.objects("pods"), timeout=5)
    await cluster.close()
    assert scheduler.kinds("run-slow") == ["assigned", "running", "failed"]
    failed = scheduler.last_of("run-slow", "failed").failed
    assert (failed.category, failed.subcategory) == ("deadline-exceeded", "active-deadline")
    assert "activeDeadlineSeconds (1s)" in failed.reason

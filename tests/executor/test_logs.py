"""Armada's Binoculars Logs RPC, served over gRPC and called with armada-client's stub."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.request import urlopen

import grpc
import pytest
from armada_client.armada import binoculars_pb2, binoculars_pb2_grpc
from armada_client.k8s.io.api.core.v1 import generated_pb2 as k8s

from armada.config.auth import open_auth
from armada.config.executor import BinocularsSettings, ProcessClusterSettings
from armada.domain.clock import ManualClock
from armada.executor.cluster import Cluster
from armada.executor.fake import FakeCluster
from armada.executor.logs import BinocularsLogService, PodLocation
from armada.executor.planning import plan_pod
from armada.executor.process import ProcessCluster
from armada.executor.runs import RunTracker
from armada.executor.standalone import ExecutorListeners, serve_executor, start_log_listener
from armada.executor.testing import FakeScheduler, lease_message
from armada.executor.wire import lease_from_proto
from armada.waiting import wait_until_async
from tests.executor.conftest import fast_settings
from tests.executor.fake_kube_api import FakeKubeApi


def planned(job: str, command: list[str], node: str):  # type: ignore[no-untyped-def]
    return plan_pod(
        lease_from_proto(lease_message(job, command=command, node=node)), fast_settings()
    )


@dataclass
class Served:
    stub: binoculars_pb2_grpc.BinocularsStub
    address: str


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    clock = ManualClock(start=1_700_000_000.0)
    fake = FakeCluster(fast_settings().fake, clock=clock, auto_advance=False)
    await fake.create_run(planned("sim", ["sh", "-c", "echo from the fake; sleep 1"], "node-0"))
    clock.advance(1.0)
    fake.step()
    local = ProcessCluster(ProcessClusterSettings(node_name="local", log_dir=str(tmp_path)))
    await local.create_run(planned("proc", ["sh", "-c", "echo one; echo two; echo three"], "local"))
    async for _ in local.watch_pods():
        pod = local._store.get("default", "armada-proc-0")
        if pod is not None and pod.terminal:
            break
    locations = {
        "sim": PodLocation("sim-cluster", "armada-sim-0", "default"),
        "proc": ("local-cluster", "armada-proc-0", "default"),
        "elsewhere": ("unknown-cluster", "armada-elsewhere-0", "default"),
        "deleted": ("sim-cluster", "armada-deleted-0", "default"),
    }

    async def lookup(job_id: str) -> PodLocation | tuple[str, str, str] | None:
        return locations.get(job_id)

    clusters: dict[str, Cluster] = {"sim-cluster": fake, "local-cluster": local}
    server = grpc.aio.server()
    BinocularsLogService(lookup, clusters).add_to_server(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield Served(binoculars_pb2_grpc.BinocularsStub(channel), f"127.0.0.1:{port}")
    await server.stop(None)
    await local.close()


async def test_logs_come_from_the_fake_clusters_pod(
    served: Served,
) -> None:
    response = await served.stub.Logs(binoculars_pb2.LogRequest(job_id="sim"))
    lines = [line.line for line in response.log]
    assert lines[1] == "from the fake"
    assert all(line.timestamp.startswith("2023-11-14T22:13") for line in response.log)


async def test_logs_come_from_the_process_output_with_tail(
    served: Served,
) -> None:
    response = await served.stub.Logs(binoculars_pb2.LogRequest(job_id="proc"))
    assert [line.line for line in response.log] == ["one", "two", "three"]
    tail = await served.stub.Logs(
        binoculars_pb2.LogRequest(job_id="proc", log_options=k8s.PodLogOptions(tailLines=1))
    )
    assert [line.line for line in tail.log] == ["three"]


@pytest.mark.parametrize(
    ("job_id", "words"),
    [("nobody", "no pod"), ("elsewhere", "not served here"), ("deleted", "gone")],
)
async def test_unknown_jobs_clusters_and_pods_are_not_found(
    served: Served, job_id: str, words: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await served.stub.Logs(binoculars_pb2.LogRequest(job_id=job_id))
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    assert words in (failure.value.details() or "")


async def test_a_bad_since_time_is_an_invalid_argument(
    served: Served,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await served.stub.Logs(binoculars_pb2.LogRequest(job_id="sim", since_time="yesterday"))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "RFC 3339" in (failure.value.details() or "")


async def test_armada_clients_log_client_works_unmodified(
    served: Served,
) -> None:
    from armada_client.log_client import JobLogClient

    def read() -> list[str]:
        client = JobLogClient(served.address, "proc", disable_ssl=True)
        return [line.line for line in client.logs()]

    assert await asyncio.to_thread(read) == ["one", "two", "three"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_standalone_executor_serves_its_kubernetes_pods_logs(
    scheduler: FakeScheduler,
) -> None:
    """`armada executor`'s Binoculars, on a KubernetesCluster over the fake API server, read
    with armada-client's unmodified log client."""
    from armada_client.log_client import JobLogClient
    from kubernetes import client as kube_client

    from armada.executor.kubernetes import KubernetesCluster

    kube = FakeKubeApi()
    kube.start()
    kube.add_node("node-0", {"cpu": "8", "memory": "32Gi", "pods": "110"})
    binoculars = BinocularsSettings(host="127.0.0.1", port=free_port())
    settings = fast_settings(
        scheduler.address, backend="kubernetes", binoculars=binoculars, auth=open_auth()
    )
    configuration = kube_client.Configuration()
    configuration.host = kube.url
    cluster = KubernetesCluster(settings, api_client=kube_client.ApiClient(configuration))
    listening: list[ExecutorListeners] = []
    stop = asyncio.Event()
    executor = asyncio.create_task(
        serve_executor(settings, cluster, stop=stop, on_ready=listening.append)
    )
    try:
        scheduler.add_lease(lease_message("logged", command=["sh", "-c", "echo"], node="node-0"))
        await wait_until_async(
            lambda: kube.get("pods", "default", "armada-logged-0") is not None, timeout=5
        )
        kube.run_pod("default", "armada-logged-0")
        for line in ("hello from kubernetes", "second line"):
            kube.write_log("default", "armada-logged-0", "main", line)
        await scheduler.wait_until(lambda: "running" in scheduler.kinds("run-logged"))
        (listeners,) = listening
        listener = listeners.logs
        assert listener is not None and listener.address == f"127.0.0.1:{binoculars.port}"
        assert listeners.http is not None  # its HTTP side answers too
        health = await asyncio.to_thread(urlopen, f"{listeners.http.url}/healthz", timeout=10)
        with health:
            assert health.status == 200

        def read(job_id: str) -> list[str]:
            client = JobLogClient(listener.address, job_id, disable_ssl=True)
            return [line.line for line in client.logs()]

        assert await asyncio.to_thread(read, "logged") == ["hello from kubernetes", "second line"]
        with pytest.raises(grpc.RpcError) as unknown:
            await asyncio.to_thread(read, "not-on-this-cluster")
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    finally:
        stop.set()
        await asyncio.wait_for(executor, 10)
        await cluster.close()
        kube.stop()


async def test_binoculars_port_zero_serves_nothing() -> None:
    settings = fast_settings(binoculars=BinocularsSettings(port=0))
    assert (
        await start_log_listener(settings, RunTracker(settings), FakeCluster(settings.fake)) is None
    )

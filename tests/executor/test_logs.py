"""Armada's Binoculars Logs RPC, served over gRPC and called with armada-client's stub."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from armada_client.armada import binoculars_pb2, binoculars_pb2_grpc
from armada_client.k8s.io.api.core.v1 import generated_pb2 as k8s

from armada.config.executor import ProcessClusterSettings
from armada.domain.clock import ManualClock
from armada.executor.cluster import Cluster
from armada.executor.fake import FakeCluster
from armada.executor.logs import BinocularsLogService, PodLocation
from armada.executor.planning import plan_pod
from armada.executor.process import ProcessCluster
from armada.executor.testing import lease_message
from armada.executor.wire import lease_from_proto
from tests.executor.conftest import fast_settings


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

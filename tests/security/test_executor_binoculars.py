"""A standalone executor's Binoculars checks its callers: authenticated by the executor's own
``auth`` chain, and allowed a job's logs only with ``watch`` on the job's queue (read from the
API server with the executor's credentials) or watch_all_events. Driven through real gRPC."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from armada_client.armada import binoculars_pb2, binoculars_pb2_grpc, submit_pb2, submit_pb2_grpc
from click.testing import CliRunner

from armada.cli.armada_main import main
from armada.config import ConfigError
from armada.config.auth import AuthSettings
from armada.config.executor import BinocularsSettings
from armada.executor.fake import FakeCluster
from armada.executor.log_access import QueuePermissions
from armada.executor.runs import RunTracker
from armada.executor.standalone import ExecutorListeners, serve_executor, start_log_listener
from armada.executor.testing import FakeScheduler, lease_message
from armada.waiting import wait_until_async
from tests.executor.conftest import fast_settings
from tests.executor.test_logs import free_port
from tests.security.support import PASSWORDS, Pki, auth_settings


def basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{PASSWORDS[user]}".encode()).decode()


@dataclass
class QueueApi(submit_pb2_grpc.QueueServiceServicer):  # type: ignore[misc]
    """The API server's GetQueue, as far as Binoculars uses it; it records who asked."""

    queues: dict[str, submit_pb2.Queue]
    callers: list[str] = field(default_factory=list)

    async def GetQueue(self, request: submit_pb2.QueueGetRequest, context: Any) -> Any:
        self.callers.append(dict(context.invocation_metadata()).get("authorization", ""))
        if request.name not in self.queues:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"queue {request.name} not found")
        return self.queues[request.name]


def watched_by(group: str, name: str) -> submit_pb2.Queue:
    subject = submit_pb2.Queue.Permissions.Subject(kind="Group", name=group)
    permission = submit_pb2.Queue.Permissions(subjects=[subject], verbs=["watch"])
    return submit_pb2.Queue(name=name, priority_factor=1, permissions=[permission])


@dataclass
class Executor:
    address: str
    queue_api: QueueApi
    ca: bytes | None = None  # Binoculars serves TLS with a certificate this CA signed

    def channel(self) -> grpc.aio.Channel:
        if self.ca is None:
            return grpc.aio.insecure_channel(self.address)
        port = self.address.rsplit(":", 1)[1]
        trust = grpc.ssl_channel_credentials(self.ca)
        return grpc.aio.secure_channel(f"localhost:{port}", trust)

    async def logs(self, job_id: str, authorization: str = "") -> binoculars_pb2.LogResponse:
        metadata = (("authorization", authorization),) if authorization else ()
        async with self.channel() as channel:
            stub = binoculars_pb2_grpc.BinocularsStub(channel)
            return await stub.Logs(binoculars_pb2.LogRequest(job_id=job_id), metadata=metadata)

    async def refusal(self, job_id: str, authorization: str = "") -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await self.logs(job_id, authorization)
        return caught.value


@pytest.fixture(scope="module")
def auth() -> AuthSettings:
    return auth_settings()  # alice: admins (watch_all_events); bob: users; exec: executors


@pytest.fixture
async def executor(
    auth: AuthSettings, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Executor]:
    """An executor serving Binoculars; its queueApi is the test's (indirect parameter "down":
    an address nothing answers on; "none": no queueApi; "tls": served, Binoculars over TLS)."""
    mode = getattr(request, "param", "served")
    pki = Pki(tmp_path) if mode == "tls" else None
    tls = {"certFile": pki.cert, "keyFile": pki.key} if pki is not None else {}
    scheduler = FakeScheduler()
    await scheduler.start()
    queue_api = QueueApi(
        {"open-q": watched_by("users", "open-q"), "closed-q": watched_by("others", "closed-q")}
    )
    api = grpc.aio.server()
    submit_pb2_grpc.add_QueueServiceServicer_to_server(queue_api, api)
    api_port = api.add_insecure_port("127.0.0.1:0")
    await api.start()
    served = f"127.0.0.1:{api_port}"
    address = {"served": served, "tls": served, "down": f"127.0.0.1:{free_port()}"}
    binoculars = BinocularsSettings(
        host="127.0.0.1", port=free_port(), queue_api=address.get(mode, ""), tls=tls
    )
    settings = fast_settings(
        scheduler.address,
        binoculars=binoculars,
        auth=auth,
        credentials={"username": "exec", "password": PASSWORDS["exec"]},
    )
    cluster = FakeCluster(settings.fake)
    stop = asyncio.Event()
    ready: list[ExecutorListeners] = []
    task = asyncio.create_task(serve_executor(settings, cluster, stop=stop, on_ready=ready.append))
    try:
        for job, queue in (("in-open", "open-q"), ("in-closed", "closed-q"), ("nowhere", "x")):
            command = ["sh", "-c", f"echo {job}; sleep 60"]
            scheduler.add_lease(lease_message(job, command=command, node="node-0", queue=queue))
        await scheduler.wait_until(
            lambda: all("running" in scheduler.kinds(f"run-{j}") for j in ("in-open", "in-closed"))
        )
        await wait_until_async(lambda: bool(ready), timeout=10)
        ca = pki.ca.read_bytes() if pki is not None else None
        yield Executor(f"127.0.0.1:{binoculars.port}", queue_api, ca)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await cluster.close()
        await api.stop(None)
        await scheduler.stop()


async def test_no_or_wrong_credentials_are_unauthenticated(executor: Executor) -> None:
    assert (await executor.refusal("in-open")).code() == grpc.StatusCode.UNAUTHENTICATED
    wrong = "Basic " + base64.b64encode(b"bob:guess").decode()
    assert (await executor.refusal("in-open", wrong)).code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_caller_without_watch_on_the_queue_is_refused_naming_it(
    executor: Executor,
) -> None:
    refused = await executor.refusal("in-closed", basic("bob"))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "'watch'" in (refused.details() or "")
    assert "closed-q" in (refused.details() or "")
    refused = await executor.refusal("nowhere", basic("bob"))  # a queue the API does not know
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "'x'" in (refused.details() or "")


async def test_the_queues_watchers_and_watch_all_events_read_the_logs(executor: Executor) -> None:
    bob = await executor.logs("in-open", basic("bob"))  # his group is granted watch
    assert "in-open" in [line.line for line in bob.log]
    alice = await executor.logs("in-closed", basic("alice"))  # watch_all_events
    assert "in-closed" in [line.line for line in alice.log]
    # The queue was read with the executor's credentials, never the caller's, and once.
    assert executor.queue_api.callers == [basic("exec")]
    await executor.logs("in-open", basic("bob"))
    assert executor.queue_api.callers == [basic("exec")], "kept binoculars.queueCache"


async def test_a_job_not_here_is_refused_to_callers_without_watch_all_events(
    executor: Executor,
) -> None:
    refused = await executor.refusal("never-leased", basic("bob"))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    missing = await executor.refusal("never-leased", basic("alice"))
    assert missing.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("executor", ["tls"], indirect=True)
async def test_binoculars_serves_tls_when_given_a_certificate(executor: Executor) -> None:
    assert (await executor.refusal("in-open")).code() == grpc.StatusCode.UNAUTHENTICATED
    assert "in-open" in [line.line for line in (await executor.logs("in-open", basic("bob"))).log]
    plain = Executor(executor.address, executor.queue_api)  # no TLS: no answer
    assert (await plain.refusal("in-open", basic("bob"))).code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("executor", ["down"], indirect=True)
async def test_an_api_server_that_cannot_be_asked_is_unavailable(executor: Executor) -> None:
    refused = await executor.refusal("in-open", basic("bob"))
    assert refused.code() == grpc.StatusCode.UNAVAILABLE
    assert "cannot read queue 'open-q'" in (refused.details() or "")
    alice = await executor.logs("in-open", basic("alice"))  # watch_all_events needs no queue
    assert "in-open" in [line.line for line in alice.log]


@pytest.mark.parametrize("executor", ["none"], indirect=True)
async def test_without_a_queue_api_only_watch_all_events_reads(executor: Executor) -> None:
    refused = await executor.refusal("in-open", basic("bob"))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "'open-q'" in (refused.details() or "")
    assert executor.queue_api.callers == []
    assert (await executor.logs("in-open", basic("alice"))).log


async def test_binoculars_does_not_start_without_an_authenticator() -> None:
    settings = fast_settings(binoculars=BinocularsSettings(host="127.0.0.1", port=free_port()))
    with pytest.raises(ConfigError, match="no authenticator is configured for Binoculars"):
        await start_log_listener(settings, RunTracker(settings), FakeCluster(settings.fake))


def test_armada_executor_refuses_to_serve_binoculars_without_an_authenticator() -> None:
    args = ["executor", "--binoculars-port", str(free_port()), "--scheduler-address", "127.0.0.1:1"]
    result = CliRunner().invoke(
        main, args, env={"ARMADA_BINOCULARS__HOST": "127.0.0.1", "ARMADA_HTTP__PORT": "0"}
    )
    assert result.exit_code == 2
    assert "no authenticator is configured for Binoculars" in result.stderr
    assert "binoculars.port: 0" in result.stderr


async def test_queue_permissions_are_read_once_per_queue_cache() -> None:
    """Concurrent lookups of one queue make one GetQueue; a change on the server reaches
    Binoculars once binoculars.queueCache has passed."""
    queue_api = QueueApi({"q": watched_by("users", "q")})
    api = grpc.aio.server()
    submit_pb2_grpc.add_QueueServiceServicer_to_server(queue_api, api)
    port = api.add_insecure_port("127.0.0.1:0")
    await api.start()
    now = [100.0]
    binoculars = BinocularsSettings(port=0, queue_api=f"127.0.0.1:{port}", queue_cache="30s")
    queues = QueuePermissions(fast_settings(binoculars=binoculars), monotonic=lambda: now[0])
    try:
        found = await asyncio.gather(*(queues.get("q") for _ in range(5)))
        assert all(q is not None and q.permissions == found[0].permissions for q in found)
        assert len(queue_api.callers) == 1
        queue_api.queues["q"] = watched_by("others", "q")
        now[0] += 29
        cached = await queues.get("q")
        assert cached is not None and cached.permissions[0].subjects[0].name == "users"
        now[0] += 2
        fresh = await queues.get("q")
        assert fresh is not None and fresh.permissions[0].subjects[0].name == "others"
        assert await queues.get("missing") is None
        assert len(queue_api.callers) == 3
    finally:
        await queues.close()
        await api.stop(None)

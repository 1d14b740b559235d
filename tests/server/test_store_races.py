"""Concurrent check-then-act calls through real gRPC: of 20 callers creating (or deleting) one
queue, retry policy or executor's settings, exactly one succeeds, and 20 submissions with one
client id store one job, on every store and across several `armada server` processes sharing
one SQLite store."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.armada import submit_pb2, submit_pb2_grpc
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from armada.rpc.gen import executor_admin_pb2 as admin_pb
from armada.rpc.gen import executor_admin_pb2_grpc as admin_grpc
from tests.api_builders import event_types, events, item
from tests.conftest import dev_settings
from tests.dev.test_processes import Processes, processes, start

__all__ = ["processes"]  # the fixture, shared with the process tests

CALLERS = 20
Call = Callable[[grpc.Channel], object]


def race(addresses: list[str], call: Call) -> list[grpc.StatusCode]:
    """``call`` from CALLERS threads at once, each on its own channel (spread over the
    addresses); the status code each got."""
    channels = [grpc.insecure_channel(addresses[i % len(addresses)]) for i in range(CALLERS)]
    for ch in channels:
        grpc.channel_ready_future(ch).result(timeout=30)
    start_together = threading.Barrier(CALLERS)
    codes: list[grpc.StatusCode] = []
    lock = threading.Lock()

    def one(ch: grpc.Channel) -> None:
        start_together.wait(timeout=30)
        try:
            call(ch)
            code = grpc.StatusCode.OK
        except grpc.RpcError as exc:
            code = exc.code()
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=one, args=(ch,)) for ch in channels]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for ch in channels:
        ch.close()
    return codes


def exactly_one_ok(codes: list[grpc.StatusCode], others: grpc.StatusCode) -> None:
    assert len(codes) == CALLERS
    assert sorted(codes, key=str) == sorted(
        [grpc.StatusCode.OK] + [others] * (CALLERS - 1), key=str
    ), codes


def call(stub: Callable[[grpc.Channel], object], method: str, request: object) -> Call:
    """A call of ``method`` with ``request`` on a channel."""
    return lambda ch: getattr(stub(ch), method)(request, timeout=60)


queues, policies = submit_pb2_grpc.QueueServiceStub, submit_pb2_grpc.RetryPolicyServiceStub
create_queue = call(queues, "CreateQueue", submit_pb2.Queue(name="q", priority_factor=1))
delete_queue = call(queues, "DeleteQueue", submit_pb2.QueueDeleteRequest(name="q"))
create_policy = call(policies, "CreateRetryPolicy", submit_pb2.RetryPolicy(name="p", retry_limit=1))
delete_policy = call(policies, "DeleteRetryPolicy", submit_pb2.RetryPolicyDeleteRequest(name="p"))
cordon_executor = call(
    admin_grpc.ExecutorStub,
    "UpsertExecutorSettings",
    admin_pb.ExecutorSettingsUpsertRequest(name="e", cordoned=True),
)
delete_executor_settings = call(
    admin_grpc.ExecutorStub,
    "DeleteExecutorSettings",
    admin_pb.ExecutorSettingsDeleteRequest(name="e"),
)


def check_every_race(addresses: list[str]) -> None:
    exactly_one_ok(race(addresses, create_queue), grpc.StatusCode.ALREADY_EXISTS)
    exactly_one_ok(race(addresses, delete_queue), grpc.StatusCode.NOT_FOUND)
    exactly_one_ok(race(addresses, create_policy), grpc.StatusCode.ALREADY_EXISTS)
    exactly_one_ok(race(addresses, delete_policy), grpc.StatusCode.NOT_FOUND)
    cordon_executor(grpc.insecure_channel(addresses[0]))
    exactly_one_ok(race(addresses, delete_executor_settings), grpc.StatusCode.NOT_FOUND)
    same_client_id_gives_one_job(addresses)


def same_client_id_gives_one_job(addresses: list[str]) -> None:
    """Concurrent submissions with one client id: all answered with one job id, one stored."""
    create_queue(grpc.insecure_channel(addresses[0]))
    request = submit_pb2.JobSubmitRequest(
        queue="q", job_set_id="s", job_request_items=[item(client_id="once")]
    )
    job_ids: list[str] = []

    def submit(ch: grpc.Channel) -> object:
        response = submit_pb2_grpc.SubmitStub(ch).SubmitJobs(request, timeout=60)
        job_ids.append(response.job_response_items[0].job_id)
        return response

    assert race(addresses, submit) == [grpc.StatusCode.OK] * CALLERS
    assert len(set(job_ids)) == 1, f"{len(set(job_ids))} jobs for one client id"
    with grpc.insecure_channel(addresses[-1]) as ch:
        client = ArmadaClient(ch)
        submitted = [k for _, k in event_types(events(client, "q", "s")) if k == "submitted"]
    assert len(submitted) == 1


@pytest.fixture(params=["memory", "sqlite"])
def embedded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EmbeddedArmada]:
    settings = dev_settings(
        tmp_path / "data", storage={"data_dir": tmp_path / "data", "event_log": request.param}
    )
    with EmbeddedArmada(settings) as running:
        yield running


def test_exactly_one_of_concurrent_callers_succeeds(embedded: EmbeddedArmada) -> None:
    check_every_race([embedded.address])


def test_exactly_one_succeeds_across_server_processes_on_one_store(
    processes: Processes, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    data = str(tmp_path / "data")
    addresses = [start(processes, "server", "--data-dir", data, env=env) for _ in range(2)]
    check_every_race(addresses)

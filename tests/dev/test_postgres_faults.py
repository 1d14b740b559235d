"""PostgreSQL restarted under submission load: the API server answers UNAVAILABLE while the
database is down (never hangs), reconnects by itself, and loses no acknowledged job. A full
connection pool is RESOURCE_EXHAUSTED, not a hang."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.armada import submit_pb2
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from armada.eventlog.postgres import PostgresEventLog
from tests.api_builders import create_queue, item
from tests.conftest import dev_settings
from tests.dev.test_postgres_processes import stored_submissions
from tests.dev.test_processes import Processes, processes, start  # noqa: F401
from tests.postgres_support import PrivateServer, private_server

pytestmark = pytest.mark.postgres
CALL_TIMEOUT = 15  # a call slower than this would be a hang


@pytest.fixture
def private() -> Iterator[PrivateServer]:
    with private_server() as server:
        yield server


class Load:
    """Threads submitting one job per call, each with a new client id, until stopped."""

    def __init__(self, client: ArmadaClient, threads: int) -> None:
        self.client = client
        self.acknowledged: dict[str, str] = {}  # client id -> job id
        self.failures: list[grpc.StatusCode] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)
        ]

    def _run(self, worker: int) -> None:
        i = 0
        while not self.stopped.is_set():
            client_id = f"w{worker}-{i}"
            i += 1
            try:
                request = submit_pb2.JobSubmitRequest(
                    queue="q", job_set_id="s", job_request_items=[item(client_id=client_id)]
                )
                response = self.client.submit_stub.SubmitJobs(request, timeout=CALL_TIMEOUT)
            except grpc.RpcError as exc:
                with self.lock:
                    self.failures.append(exc.code())
                time.sleep(0.05)  # a client backing off
                continue
            with self.lock:
                self.acknowledged[client_id] = response.job_response_items[0].job_id

    def count(self) -> tuple[int, int]:
        with self.lock:
            return len(self.acknowledged), len(self.failures)

    def wait(self, condition: object, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():  # type: ignore[operator]
            assert time.monotonic() < deadline, f"timed out: {self.count()}"
            time.sleep(0.05)


def test_a_database_restart_under_load_loses_no_acknowledged_job(
    processes: Processes,  # noqa: F811
    private: PrivateServer,
) -> None:
    env = dict(os.environ, ARMADA_STORAGE__POOL_TIMEOUT="2s")
    address = start(processes, "server", "--store", private.url, env=env)
    with grpc.insecure_channel(address) as channel:
        client = ArmadaClient(channel)
        create_queue(client, "q")
        load = Load(client, threads=4)
        for thread in load.threads:
            thread.start()
        try:
            load.wait(lambda: load.count()[0] >= 200)
            private.stop("immediate")  # as a crash: recovered from the WAL at start
            load.wait(lambda: load.count()[1] >= 8)  # calls during the outage are refused
            before_restart = load.count()[0]
            private.start()
            load.wait(lambda: load.count()[0] >= before_restart + 200)  # reconnected
        finally:
            load.stopped.set()
            for thread in load.threads:
                thread.join(timeout=CALL_TIMEOUT * 2)
    assert set(load.failures) == {grpc.StatusCode.UNAVAILABLE}, "refused, never hung"
    stored = stored_submissions(private.url)
    assert len(stored) == len(set(stored)), "no job stored twice"
    missing = set(load.acknowledged) - set(stored)
    assert not missing, f"{len(missing)} acknowledged jobs lost"


def test_a_full_connection_pool_is_resource_exhausted_not_a_hang(
    tmp_path: Path, postgres_url: str
) -> None:
    storage = {"data_dir": tmp_path, "store": postgres_url, "pool_size": 1, "pool_timeout": "1s"}
    with (
        EmbeddedArmada(dev_settings(tmp_path, storage=storage)) as armada,
        grpc.insecure_channel(armada.address) as channel,
    ):
        client = ArmadaClient(channel)
        create_queue(client, "q")
        log = armada.system.storage.log
        assert isinstance(log, PostgresEventLog)
        with log.pool.connection():  # every connection of the pool in use
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as refused:
                client.submit_jobs("q", "s", [item()])
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert time.monotonic() - started < CALL_TIMEOUT
        assert client.submit_jobs("q", "s", [item()]).job_response_items[0].job_id

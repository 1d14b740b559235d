"""Kill the server (SIGKILL) in the middle of a load, restart it: nothing acknowledged is lost,
and event streams resume from a message id with no gap and no duplicate."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from armada_client.armada import event_pb2
from armada_client.client import ArmadaClient

from tests.api_builders import create_queue, events, item
from tests.server_process import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data")
    process.start()
    yield process
    process.stop()


@pytest.mark.slow
def test_sigkill_mid_load_loses_nothing_acknowledged(server: ServerProcess) -> None:
    acknowledged: list[str] = []
    seen_before_kill: list[event_pb2.EventStreamMessage] = []
    stop = threading.Event()
    with grpc.insecure_channel(server.address) as channel:
        client = ArmadaClient(channel)
        create_queue(client)

        def submitter() -> None:
            while not stop.is_set():
                try:
                    response = client.submit_jobs("queue-a", "load", [item() for _ in range(50)])
                except grpc.RpcError:
                    return  # the server died mid-request: that batch was not acknowledged
                acknowledged.extend(r.job_id for r in response.job_response_items)

        def watcher() -> None:
            request = event_pb2.JobSetRequest(queue="queue-a", id="load", watch=True)
            try:
                for message in client.event_stub.GetJobSetEvents(request):
                    seen_before_kill.append(message)
            except grpc.RpcError:
                return

        threads = [threading.Thread(target=submitter), threading.Thread(target=watcher)]
        for t in threads:
            t.start()
        while len(acknowledged) < 1000:
            time.sleep(0.05)
        server.kill()
        stop.set()
        for t in threads:
            t.join(10)

    server.start()
    with grpc.insecure_channel(server.address) as channel:
        client = ArmadaClient(channel)
        for start in range(0, len(acknowledged), 500):
            chunk = acknowledged[start : start + 500]
            states = client.get_job_status(chunk).job_states
            missing = [j for j in chunk if states[j] != 0]  # 0 is QUEUED
            assert not missing, f"{len(missing)} acknowledged jobs were lost"
        replay = events(client, "queue-a", "load")
        submitted = {m.message.submitted.job_id for m in replay if m.message.HasField("submitted")}
        assert set(acknowledged) <= submitted
        assert len(replay) == len({m.id for m in replay}), "no duplicate message ids"
        assert replay[: len(seen_before_kill)] == seen_before_kill, "history did not change"
        if seen_before_kill:
            resumed = events(client, "queue-a", "load", from_id=seen_before_kill[-1].id)
            assert resumed == replay[len(seen_before_kill) :], "resume has a gap or a duplicate"

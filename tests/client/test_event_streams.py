"""armada.client reads events in batches from our server, and one by one from a server that
only has Armada's api.Event (Armada's own), with the same results."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from armada_client.armada import event_pb2, event_pb2_grpc
from armada_client.client import ArmadaClient

from armada.client import Client, ConnectionDetails
from tests.api_builders import create_queue, events, item


class OnlyArmadasEventService(event_pb2_grpc.EventServicer):  # type: ignore[misc]
    """A server like Armada's: api.Event and nothing of ours."""

    def __init__(self, messages: list[event_pb2.EventStreamMessage]) -> None:
        self.messages = messages
        self.calls = 0

    def GetJobSetEvents(self, request: Any, context: Any) -> Iterator[Any]:
        self.calls += 1
        yield from self.messages


@pytest.fixture
def recorded(client: ArmadaClient) -> list[event_pb2.EventStreamMessage]:
    create_queue(client)
    client.submit_jobs("queue-a", "s", [item(), item()])
    return events(client, "queue-a", "s")


def test_batched_from_our_server(armada: Any, recorded: list[Any]) -> None:
    with Client.connect(ConnectionDetails(url=armada.address)) as api:
        assert list(api.job_set_events("queue-a", "s")) == recorded


def test_one_by_one_from_a_server_without_batches(recorded: list[Any]) -> None:
    service = OnlyArmadasEventService(recorded)
    server = grpc.server(futures.ThreadPoolExecutor(2))
    event_pb2_grpc.add_EventServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with Client.connect(ConnectionDetails(url=f"127.0.0.1:{port}")) as api:
            assert list(api.job_set_events("queue-a", "s")) == recorded
        assert service.calls == 1
    finally:
        server.stop(0)

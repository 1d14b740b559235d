"""`armada server` restarts in time that does not depend on what its views must replay: it
listens, answers health checks and serves event streams (from the log) at once, and holds the
calls that read the views until they have caught up."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import grpc
from armada_client.armada import submit_pb2
from armada_client.client import ArmadaClient

from armada.config.server import StorageSettings
from armada.domain import events as ev
from armada.domain.queues import Queue
from armada.views.storage import open_storage
from tests.api_builders import events
from tests.builders import sequence, submit
from tests.server_process import ServerProcess

JOBS = 200


def log_only_store(data_dir: Path) -> list[str]:
    """A store whose log holds a queue and JOBS jobs that its views know nothing of (as after
    a crash between an append and the views' catch-up, or with views to rebuild)."""
    storage = open_storage(StorageSettings(data_dir=data_dir))
    ids = [f"job-{i:04d}" for i in range(JOBS)]
    try:
        storage.append(
            [sequence(ev.QueueCreated(queue=Queue(name="queue-a")), queue="", job_set="")]
        )
        storage.log.append(
            [sequence(*(submit(i, queue="queue-a", job_set="s") for i in ids), job_set="s")]
        )
    finally:
        storage.close()
    return ids


@contextmanager
def views_locked(data_dir: Path) -> Iterator[None]:
    """Hold the write lock of every database file of the store: the views cannot catch up."""
    with ExitStack() as stack:
        for path in sorted(data_dir.glob("*.db")):
            conn = sqlite3.connect(path, isolation_level=None)
            stack.callback(conn.close)
            conn.execute("BEGIN IMMEDIATE")
            stack.callback(conn.execute, "ROLLBACK")
        yield


def test_the_server_listens_before_its_views_catch_up_and_holds_view_reads(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    ids = log_only_store(data)
    server = ServerProcess(data, component="server")
    states: list[dict[str, int]] = []
    try:
        with views_locked(data):
            server.start(timeout=20)  # before: it waited on the views (30 s, then failed)
            channel = grpc.insecure_channel(server.address)
            client = ArmadaClient(channel)
            assert len(events(client, "queue-a", "s")) == 2 * JOBS, "streams read the log"
            reader = threading.Thread(
                target=lambda: states.append(dict(client.get_job_status(ids).job_states))
            )
            reader.start()
            reader.join(1.0)  # ungated, the views (empty) would answer UNKNOWN at once
            assert not states, f"a view read was answered before the views caught up: {states}"
        reader.join(30)
        channel.close()
        assert states == [dict.fromkeys(ids, submit_pb2.QUEUED)], "answered once caught up"
    finally:
        server.stop()

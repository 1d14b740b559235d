"""Processes sharing one PostgreSQL store: the "exactly once" rules hold in the database."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from armada_client.client import ArmadaClient

from armada.domain import events as ev
from armada.eventlog.postgres import PostgresEventLog
from tests.api_builders import create_queue, item
from tests.dev.test_processes import ARMADA, Processes, processes, start  # noqa: F401

REQUESTS = 1_000
pytestmark = pytest.mark.postgres


def stored_submissions(url: str) -> list[str]:
    """The client id of every job stored in the log, one entry per job."""
    log = PostgresEventLog(url, pool_size=1)
    try:
        found: list[str] = []
        after = 0
        while chunk := log.read(after, 500):
            after = chunk[-1].offset
            found += [
                e.spec.client_id
                for entry in chunk
                for e in entry.sequence.events
                if isinstance(e, ev.SubmitJob)
            ]
        return found
    finally:
        log.close()


def test_two_servers_given_the_same_requests_store_each_job_once(
    processes: Processes,  # noqa: F811
    postgres_url: str,
) -> None:
    env = dict(os.environ)
    addresses = [start(processes, "server", "--store", postgres_url, env=env) for _ in range(2)]
    channels = [grpc.insecure_channel(address) for address in addresses]
    try:
        clients = [ArmadaClient(channel) for channel in channels]
        create_queue(clients[0], "q")

        def submit(i: int, client: ArmadaClient) -> str:
            response = client.submit_jobs("q", "s", [item(client_id=f"c{i}")])
            return str(response.job_response_items[0].job_id)

        with ThreadPoolExecutor(max_workers=16) as pool:
            # Each request goes to both servers at once: the same client id races itself.
            answers = [[pool.submit(submit, i, c) for c in clients] for i in range(REQUESTS)]
            ids = [[pair[side].result(timeout=120) for pair in answers] for side in (0, 1)]
    finally:
        for channel in channels:
            channel.close()
    stored = stored_submissions(postgres_url)
    assert len(stored) == REQUESTS
    assert sorted(stored) == sorted(f"c{i}" for i in range(REQUESTS))
    assert ids[0] == ids[1], "both servers answer a client id with the one job stored for it"
    assert len(set(ids[0])) == REQUESTS


def test_armada_dev_runs_on_postgresql_and_hides_the_password(
    processes: Processes,  # noqa: F811
    postgres_url: str,
) -> None:
    with_password = postgres_url.replace("postgres@", "postgres:secret@")  # trust ignores it
    proc = subprocess.Popen(
        [*ARMADA, "dev", "--host", "127.0.0.1", "--port", "0", "--store", with_password],
        env={**os.environ, "ARMADA_CLUSTERS": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    processes.append(proc)
    assert proc.stdout is not None
    address = proc.stdout.readline().decode().rsplit(" ", 1)[-1].strip()
    data = next(line for line in iter(proc.stdout.readline, b"") if b"  data: " in line).decode()
    assert "postgres:***@127.0.0.1" in data and "secret" not in data
    with grpc.insecure_channel(address) as channel:
        create_queue(ArmadaClient(channel), "q")
    log = PostgresEventLog(postgres_url, pool_size=1)
    try:
        assert log.head() == 1, "the queue is in PostgreSQL"
    finally:
        log.close()

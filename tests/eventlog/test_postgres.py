"""What only the PostgreSQL store does: schema versions, wake-ups across processes, and its
failures as the store's errors (a full pool, an unreachable server)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from armada.eventlog import EventLogError
from armada.eventlog.base import StoreBusy, StoreUnavailable
from armada.eventlog.postgres import PostgresEventLog, channel_for, translated
from armada.eventlog.postgres_schema import LOG_STEPS, migrate
from armada.views.postgres import VIEW_STEPS
from tests.builders import sequence, submit
from tests.postgres_support import fresh_schema
from tests.server_process import with_open_auth

pytestmark = pytest.mark.postgres


def test_a_store_never_migrated_is_refused_with_what_to_run() -> None:
    refusal = r"schema version 0.*run `armada migrate --store"
    with fresh_schema(migrated=False) as url, pytest.raises(EventLogError, match=refusal):
        PostgresEventLog(url)


def test_a_store_of_a_newer_schema_is_refused(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE armada_schema SET version = %s WHERE part = 'log'", (len(LOG_STEPS) + 1,)
        )
    with pytest.raises(EventLogError, match="newer than this Armada knows"):
        PostgresEventLog(postgres_url)


def armada(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "armada.cli.armada_main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=with_open_auth(None),
    )


def test_armada_migrate_makes_the_schema_and_processes_check_it() -> None:
    with fresh_schema(migrated=False) as url:
        refused = armada("server", "--store", url, "--port", "0")
        assert refused.returncode == 1
        assert "run `armada migrate --store" in refused.stderr
        first = armada("migrate", "--store", url)
        assert first.returncode == 0, first.stderr
        assert "log: schema version 1 (migrated from 0)" in first.stdout
        again = armada("migrate", "--store", url)
        assert "log: schema version 1 (up to date)" in again.stdout
        assert f"views: schema version {len(VIEW_STEPS)} (up to date)" in again.stdout
        log = PostgresEventLog(url)
        log.close()


# The views' jobs table as schema version 1 made it (before the Lookout API's columns).
JOBS_V1 = """CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY, queue TEXT NOT NULL, job_set TEXT NOT NULL, state TEXT NOT NULL,
    priority BIGINT NOT NULL, priority_class TEXT NOT NULL, submitted DOUBLE PRECISION NOT NULL,
    last_transition DOUBLE PRECISION NOT NULL, external_job_uri TEXT NOT NULL DEFAULT '',
    latest_run_id TEXT NOT NULL DEFAULT '', pool TEXT NOT NULL DEFAULT '',
    executor TEXT NOT NULL DEFAULT '', node TEXT NOT NULL DEFAULT '', record BYTEA NOT NULL
)"""


def test_views_of_version_1_gain_the_lookout_columns_and_are_refilled() -> None:
    with fresh_schema(migrated=False) as url, psycopg.connect(url, autocommit=True) as conn:
        migrate(conn, "log", LOG_STEPS)
        old_step = [JOBS_V1, *(s for s in VIEW_STEPS[0] if "TABLE IF NOT EXISTS jobs" not in s)]
        old_step = [s for s in old_step if "owner" not in s and "job_set_name" not in s]
        old_step = [s for s in old_step if "job_annotations" not in s and "counts" not in s]
        migrate(conn, "views", [old_step])
        conn.execute("INSERT INTO view_checkpoint (name, \"offset\") VALUES ('query-store', 7)")
        assert migrate(conn, "views", VIEW_STEPS) == (1, len(VIEW_STEPS))
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'jobs'"
                " AND table_schema = current_schema()"
            )
        }
        assert {"owner", "namespace", "cpu", "memory", "ephemeral_storage", "gpu"} <= columns
        assert conn.execute("SELECT COUNT(*) FROM view_checkpoint").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM job_set_counts").fetchone() == (0,)


def append_until_heard(writer: PostgresEventLog, heard: Callable[[float], bool]) -> bool:
    """Append to ``writer`` until ``heard(timeout)``, which waits up to ``timeout``, says the
    listener under test woke; whether it did within 10 s. One append is not enough: a log's
    listener thread may not have run LISTEN yet when the first NOTIFY goes out."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        writer.append([sequence(submit(f"j{time.monotonic_ns()}"))])
        if heard(0.2):
            return True
    return False


def test_another_process_append_wakes_the_signal_without_polling(postgres_url: str) -> None:
    """Two opened logs are two processes' views of the database: only NOTIFY links them."""
    waiter, writer = PostgresEventLog(postgres_url), PostgresEventLog(postgres_url)
    try:
        woke = threading.Event()

        def wait() -> None:
            waiter.signal.wait(timeout=10)
            woke.set()

        thread = threading.Thread(target=wait)
        thread.start()
        assert append_until_heard(writer, woke.wait)
        thread.join(timeout=10)
        assert waiter.head() == writer.head()
    finally:
        waiter.close()
        writer.close()


def test_appends_in_another_schema_wake_nobody(postgres_url: str) -> None:
    """Two deployments (or test runs) sharing a database, each in its own schema: one's
    appends do not wake the other's waiters (each schema has its own NOTIFY channel)."""
    with fresh_schema() as other_url:
        waiter, writer = PostgresEventLog(postgres_url), PostgresEventLog(other_url)
        neighbour = PostgresEventLog(other_url)  # the other schema's own waiter
        try:
            generation = waiter.signal.generation
            seen_there = neighbour.signal.generation

            def neighbour_woke(timeout: float) -> bool:
                neighbour.signal.wait(timeout=timeout)
                return neighbour.signal.generation != seen_there

            assert append_until_heard(writer, neighbour_woke), "the other schema's waiter slept"
            # The neighbour heard the append through NOTIFY; had the waiter been on the same
            # channel, its listener would have fired by now too.
            waiter.signal.wait(timeout=0.3)
            assert waiter.signal.generation == generation
            assert waiter.head() == 0
        finally:
            for log in (waiter, writer, neighbour):
                log.close()


def test_the_channel_name_fits_postgres_limit() -> None:
    assert channel_for("armada") == "armada_log:armada"
    long = channel_for("s" * 63)
    assert len(long.encode()) <= 63 and long != channel_for("s" * 62 + "t")


def test_a_full_pool_is_store_busy_not_a_hang(postgres_url: str) -> None:
    log = PostgresEventLog(postgres_url, pool_size=1, pool_timeout=0.5)
    try:
        with log.pool.connection():
            started = time.monotonic()
            with pytest.raises(StoreBusy):
                log.append([sequence(submit("a"))])
            assert time.monotonic() - started < 5
        assert [e.offset for e in log.append([sequence(submit("a"))])] == [1]
    finally:
        log.close()


def test_a_full_pool_just_after_a_lost_connection_is_an_outage(postgres_url: str) -> None:
    """When a request has just lost the database through the pool, a request that then waits
    in vain for a connection (the others held by requests still finding out) is told the
    database is unreachable (UNAVAILABLE), not that the pool is busy (RESOURCE_EXHAUSTED)."""
    log = PostgresEventLog(postgres_url, pool_size=1, pool_timeout=0.5)
    try:
        with pytest.raises(StoreUnavailable), translated(log.pool):
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        with log.pool.connection(), pytest.raises(StoreUnavailable):
            log.append([sequence(submit("a"))])
    finally:
        log.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_is_store_unavailable_not_a_hang() -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        PostgresEventLog(f"postgresql://postgres@127.0.0.1:{free_port()}/x", pool_timeout=1)
    assert time.monotonic() - started < 10

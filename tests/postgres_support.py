"""PostgreSQL for tests: a fresh, migrated schema per test in the server named by
``ARMADA_TEST_POSTGRES_DSN``, dropped afterwards.

Tests that need it skip when the server does not answer, except under ``CI=true``, where a
missing server is a failure (``.ci/run`` starts it).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from armada.views.storage import migrate_store

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_dsn() -> str:
    return os.environ.get("ARMADA_TEST_POSTGRES_DSN", DEFAULT_DSN)


def require_server() -> None:
    """Skip (fail under CI) when the test server does not answer."""
    try:
        psycopg.connect(server_dsn(), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {server_dsn()} is not answering under CI: {exc}")
        pytest.skip(f"PostgreSQL at {server_dsn()} is not answering: {exc}")


def url_in_schema(dsn: str, schema: str) -> str:
    """``dsn`` with every connection's search path set to ``schema``."""
    joiner = "&" if "?" in dsn else "?"
    return f"{dsn}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema(migrated: bool = True) -> Iterator[str]:
    """A store URL in a new schema of its own (migrated unless told not to), dropped after."""
    require_server()
    schema = f"armada_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    url = url_in_schema(server_dsn(), schema)
    try:
        if migrated:
            migrate_store(url)
        yield url
    finally:
        with psycopg.connect(server_dsn(), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivateServer:
    """A PostgreSQL server of one test's own (initdb in a temporary directory, on a free
    port), for tests that stop or restart it: the machine's shared server is never touched."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="armada-pg-"))
        self.data = self.directory / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        self._run(PG_BIN / "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def _run(self, *args: str | Path) -> None:
        subprocess.run(
            [*self._as_postgres, *map(str, args)],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.directory} -c max_connections=50"
        self._run(
            PG_BIN / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.directory / "log",
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: as a crash would, recovered from the WAL at start)."""
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def private_server() -> Iterator[PrivateServer]:
    """A started, migrated private server; removed afterwards."""
    if not (PG_BIN / "initdb").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"no PostgreSQL binaries in {PG_BIN} under CI")
        pytest.skip(f"no PostgreSQL binaries in {PG_BIN}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = PrivateServer(port)
    try:
        server.start()
        migrate_store(server.url)
        yield server
    finally:
        server.remove()

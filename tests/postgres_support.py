"""PostgreSQL for tests: a fresh, migrated schema per test in the server named by
``ARMADA_TEST_POSTGRES_DSN``, dropped afterwards.

Tests that need it skip when the server does not answer, except under ``CI=true``, where a
missing server is a failure (``.ci/run`` starts it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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

"""PostgreSQL views: stores in different schemas of one database never wait on each other,
and a view transaction does not wait for the disk (the log does)."""

from __future__ import annotations

import threading
import time

import pytest

from armada.eventlog.postgres import PostgresEventLog
from armada.views.postgres import PostgresViews
from tests.postgres_support import fresh_schema

pytestmark = pytest.mark.postgres


def test_view_writers_in_other_schemas_do_not_wait_on_each_other(postgres_url: str) -> None:
    with fresh_schema() as other_url:
        log_a, log_b = PostgresEventLog(postgres_url), PostgresEventLog(other_url)
        try:
            views_a, views_b = (
                PostgresViews(log_a.pool, postgres_url),
                PostgresViews(log_b.pool, other_url),
            )
            release = threading.Event()
            holding = threading.Event()

            def hold_a() -> None:
                with views_a.write():
                    holding.set()
                    release.wait(30)

            holder = threading.Thread(target=hold_a)
            holder.start()
            try:
                assert holding.wait(10)
                started = time.monotonic()
                with views_b.write() as sql:
                    sql.execute("SELECT 1")
                    commit = sql.execute("SHOW synchronous_commit").fetchone()
                assert time.monotonic() - started < 5, "waited on another schema's writer"
                assert commit is not None and commit[0] == "off"
            finally:
                release.set()
                holder.join(30)
        finally:
            log_a.close()
            log_b.close()

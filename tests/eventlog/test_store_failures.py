"""The SQLite log and views when the store is full or damaged. A full disk is simulated with
SQLite's page limit (``PRAGMA max_page_count``), which fails writes with SQLITE_FULL exactly as
a full disk does; tests/dev/test_store_failures.py does it with a real full tmpfs."""

from __future__ import annotations

from pathlib import Path

import pytest

from armada.config.server import StorageSettings
from armada.eventlog import SqliteEventLog
from armada.eventlog.base import StoreCorrupt, StoreFull
from armada.views.storage import open_storage
from tests.builders import sequence, submit


def limit_pages(log: SqliteEventLog, pages: int) -> None:
    log._writer.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_store_refuses_appends_clearly_keeps_reading_and_recovers(tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "armada.db")
    try:
        log.append([sequence(submit("before"))])
        (pages,) = log._writer.execute("PRAGMA page_count").fetchone()
        limit_pages(log, pages)
        big = [sequence(*[submit(f"j{i}") for i in range(200)])]
        for _ in range(3):  # and again: no "cannot rollback - no transaction is active"
            with pytest.raises(StoreFull, match="the store's disk is full"):
                log.append(big)
        assert log.head() == 1
        assert [e.offset for e in log.read(0, 10)] == [1]
        limit_pages(log, 1_000_000)  # space returns
        assert [e.offset for e in log.append(big)] == [2]
    finally:
        log.close()


def test_a_damaged_log_file_is_named_with_how_to_restore_it(tmp_path: Path) -> None:
    path = tmp_path / "armada.db"
    path.write_bytes(b"this is not a database, it only has its name" * 200)
    with pytest.raises(StoreCorrupt) as damaged:
        SqliteEventLog(path)
    assert str(path) in str(damaged.value)
    assert "backup" in str(damaged.value)


def test_a_damaged_views_file_is_rebuilt_from_the_log(tmp_path: Path) -> None:
    settings = StorageSettings(data_dir=tmp_path)
    storage = open_storage(settings)
    storage.log.append([sequence(submit("a")), sequence(submit("b"))])
    storage.updater.catch_up()
    storage.close()
    settings.views_path.write_bytes(b"garbage" * 4096)
    reopened = open_storage(settings)
    try:
        assert [j.job_id for j in reopened.store.all_jobs()] == ["a", "b"]
    finally:
        reopened.close()


def test_an_undecodable_newest_entry_is_found_at_open(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "armada.db"
    log = SqliteEventLog(path)
    log.append([sequence(submit("a")), sequence(submit("b"))])
    log.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE event_log SET payload = x'c1c1c1' WHERE offset = 2")
    conn.commit()
    conn.close()
    with pytest.raises(StoreCorrupt, match=r"armada\.db is damaged \(entry 2 cannot be decoded"):
        SqliteEventLog(path)

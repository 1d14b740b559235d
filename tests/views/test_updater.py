"""The view updater: idempotent, crash-safe, and correct when several processes share views."""

from __future__ import annotations

from pathlib import Path

from armada.domain import events as ev
from armada.eventlog import SqliteEventLog
from armada.views.store import QueryStore
from armada.views.updater import ViewUpdater
from tests.builders import sequence, submit


def lease(job_id: str, run: str) -> ev.JobRunLeased:
    return ev.JobRunLeased(job_id=job_id, run_id=run, executor="c", node="n", pool="p")


def test_two_updaters_sharing_the_views_take_turns_without_stale_caches(tmp_path: Path) -> None:
    path = tmp_path / "armada.db"
    log = SqliteEventLog(path)
    first, second = QueryStore(path), QueryStore(path)
    a, b = ViewUpdater(log, first), ViewUpdater(log, second)
    log.append([sequence(submit("j1"), submit("j2"))])
    a.catch_up()  # a caches j1 and j2 as QUEUED
    log.append([sequence(lease("j1", "r1"))])
    b.catch_up()  # b moves j1 on; a's cache of j1 is now stale
    log.append([sequence(ev.JobRunRunning(job_id="j1", run_id="r1"))])
    a.catch_up()  # must see b's write, not apply RUNNING to its cached QUEUED record
    job = first.get_job("j1")
    assert job is not None and job.state.value == "RUNNING"
    assert a.skipped == 0 and b.skipped == 0
    rebuilt = QueryStore(tmp_path / "rebuilt.db")
    ViewUpdater(log, rebuilt).catch_up()
    assert rebuilt.all_jobs() == first.all_jobs() == second.all_jobs()
    for store in (first, second, rebuilt):
        store.close()
    log.close()


def test_catching_up_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "armada.db"
    log = SqliteEventLog(path)
    store = QueryStore(path)
    updater = ViewUpdater(log, store)
    log.append([sequence(submit("j1")), sequence(lease("j1", "r1"))])
    assert updater.catch_up() == 2
    before = store.all_jobs()
    assert updater.catch_up() == 2
    assert store.all_jobs() == before
    store.close()
    log.close()


def test_views_of_an_older_schema_are_rebuilt_from_the_log(tmp_path: Path) -> None:
    path = tmp_path / "armada.db"
    log = SqliteEventLog(path)
    store = QueryStore(path)
    log.append([sequence(submit("j1")), sequence(lease("j1", "r1"))])
    ViewUpdater(log, store).catch_up()
    before = store.all_jobs()
    with store.write() as conn:  # as an older release would have left it
        conn.execute("UPDATE view_meta SET value = '1' WHERE key = 'schema'")
        conn.execute("DELETE FROM jobs")
    store.close()
    reopened = QueryStore(path)
    assert reopened.checkpoint() == 0, "the tables were dropped"
    ViewUpdater(log, reopened).catch_up()
    assert reopened.all_jobs() == before
    assert [j.job_id for j in reopened.jobs_on_executor("c")] == ["j1"]
    reopened.close()
    log.close()

"""The views are a function of the log: rebuilding them from scratch gives the same state."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from armada_client.client import ArmadaClient

from armada.config.server import StorageSettings
from armada.dev.embedded import EmbeddedArmada
from armada.domain import events as ev
from armada.views.store import QueryStore
from armada.views.updater import ViewUpdater
from tests.api_builders import create_queue, item


def populate(client: ArmadaClient, armada: EmbeddedArmada) -> list[str]:
    create_queue(client, "q1")
    create_queue(client, "q2")
    client.update_queue(client.create_queue_request("q2", 5.0))
    ids = [
        r.job_id
        for r in client.submit_jobs(
            "q1", "s", [item(client_id="c1"), item(), item()]
        ).job_response_items
    ]
    client.cancel_jobs("q1", "s", ids[1])
    client.reprioritize_jobs(3, [ids[2]], "s", "q1")
    armada.system.storage.append(
        [
            ev.EventSequence(
                queue="q1",
                job_set="s",
                user="scheduler",
                created=2.0,
                events=[
                    ev.JobRunLeased(job_id=ids[0], run_id="r1", executor="c", node="n", pool="p"),
                    ev.JobRunRunning(job_id=ids[0], run_id="r1"),
                ],
            )
        ]
    )
    return ids


def test_a_fresh_store_replayed_from_the_log_matches(
    client: ArmadaClient, armada: EmbeddedArmada, tmp_path: Path
) -> None:
    populate(client, armada)
    live = armada.system.storage.store
    fresh = QueryStore(tmp_path / "fresh.db")
    ViewUpdater(armada.system.storage.log, fresh).catch_up()
    assert fresh.all_jobs() == live.all_jobs()
    assert fresh.list_queues() == live.list_queues()
    assert fresh.job_ids_for_client_ids("q1", ["c1"]) == live.job_ids_for_client_ids("q1", ["c1"])
    assert fresh.job_ids_for_runs(["r1"]) == live.job_ids_for_runs(["r1"])
    fresh.close()


def test_the_rebuild_command_replays_the_log(tmp_path: Path) -> None:
    data = tmp_path / "data"
    from tests.conftest import dev_settings

    with EmbeddedArmada(dev_settings(data)) as armada:
        import grpc

        with grpc.insecure_channel(armada.address) as channel:
            populate(ArmadaClient(channel), armada)
            before = armada.system.storage.store.all_jobs()
    result = subprocess.run(
        [sys.executable, "-m", "armada.cli.armada_main", "rebuild-views", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "rebuilt the views from 7 log entries (3 jobs)" in result.stdout
    store = QueryStore(StorageSettings(data_dir=data).views_path)
    assert store.all_jobs() == before
    store.close()


def test_views_kept_in_the_log_file_by_older_stores_move_to_their_own(tmp_path: Path) -> None:
    """Stores before views.db had the view tables in armada.db: they are dropped there and
    views.db is built from the log."""
    from armada.eventlog import SqliteEventLog
    from armada.views.storage import open_storage
    from tests.builders import sequence, submit

    settings = StorageSettings(data_dir=tmp_path)
    log = SqliteEventLog(settings.database_path)
    log.append([sequence(submit("a"))])
    old_views = QueryStore(settings.database_path)  # the old layout: views in the log's file
    ViewUpdater(log, old_views).catch_up()
    old_views.close()
    log.close()
    reopened = open_storage(settings)
    try:
        assert [j.job_id for j in reopened.store.all_jobs()] == ["a"]
        tables = {
            row[0]
            for row in sqlite3.connect(settings.database_path).execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table'"
            )
        }
        assert "jobs" not in tables and "event_log" in tables
    finally:
        reopened.close()

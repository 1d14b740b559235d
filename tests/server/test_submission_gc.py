"""A large submission runs without the cyclic collector walking the heap (it makes no lasting
cycles; the collector's walks cost about a tenth of its time)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from armada_client.armada import submit_pb2

from armada.config.auth import open_auth
from armada.config.server import ServerSettings, StorageSettings
from armada.server.app import make_api_context
from armada.server.context import Principal
from armada.server.queue_service import QueueOperations
from armada.server.submit_service import SubmitOperations
from armada.views.storage import open_storage
from tests.api_builders import item


def test_a_thousand_job_submission_triggers_no_collection(tmp_path: Path) -> None:
    settings = StorageSettings(data_dir=tmp_path, event_log="memory")
    storage = open_storage(settings)
    try:
        api = make_api_context(storage, ServerSettings(storage=settings, auth=open_auth()))
        who = Principal(user="u")
        QueueOperations(api).create(submit_pb2.Queue(name="q", priority_factor=1), who)
        request = submit_pb2.JobSubmitRequest(
            queue="q", job_set_id="s", job_request_items=[item() for _ in range(1000)]
        )
        collections: list[dict[str, Any]] = []

        def seen(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                collections.append(info)

        assert gc.isenabled()
        gc.callbacks.append(seen)
        try:
            ids = SubmitOperations(api).submit(request, who)
        finally:
            gc.callbacks.remove(seen)
        assert len(ids) == 1000
        assert len(collections) <= 1, "at most one, of the young, when the collector resumes"
        assert gc.isenabled(), "the collector runs again afterwards"
    finally:
        storage.close()

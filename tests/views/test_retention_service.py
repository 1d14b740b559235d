"""Retention switched on in a running Armada: a finished job set disappears by itself."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from tests.api_builders import create_queue, events, item
from tests.conftest import dev_settings


def test_a_finished_job_set_is_deleted_after_expire_after(tmp_path: Path) -> None:
    storage = {"data_dir": tmp_path, "expire_after": "1s", "prune_interval": "100ms"}
    with (
        EmbeddedArmada(dev_settings(tmp_path, storage=storage)) as armada,
        grpc.insecure_channel(armada.address) as channel,
    ):
        client = ArmadaClient(channel)
        create_queue(client, "q")
        kept = client.submit_jobs("q", "live", [item()]).job_response_items[0].job_id
        done = client.submit_jobs("q", "done", [item()]).job_response_items[0].job_id
        client.cancel_jobs("q", "done", done)
        store = armada.system.storage.store
        deadline = time.monotonic() + 30
        while store.get_job(done) is not None:
            assert time.monotonic() < deadline, "the cancelled job set was never deleted"
            time.sleep(0.05)
        assert events(client, "q", "done") == []
        assert store.get_job(kept) is not None, "a job set with a live job is kept"
        assert len(events(client, "q", "live")) == 2

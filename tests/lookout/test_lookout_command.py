"""``armada lookout`` as a process of its own, on a store an ``armada server`` writes: it serves
the UI, the Lookout API over the jobs the server took, and the REST gateway's actions."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import grpc
import pytest
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from armada.lookout.ui_files import UI_BUILD
from armada.waiting import wait_until
from tests.api_builders import create_queue, item
from tests.conftest import dev_settings
from tests.server_process import free_port, with_open_auth


def call(url: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urlopen(request, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except HTTPError as error:
        with error:
            return error.code, error.read().decode()


def answers(url: str) -> bool:
    try:
        return call(url)[0] == 200
    except URLError:
        return False


@pytest.fixture
def lookout(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    args = ["lookout", "--host", "127.0.0.1", "--http-port", str(port)]
    args += ["--data-dir", str(tmp_path / "data")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "armada.cli.armada_main", *args],
        env=with_open_auth(
            None
        ),  # `armada lookout`, like `armada server`, has no anonymous default
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(f"{url}/readyz") or proc.poll() is not None, what="lookout")
        assert proc.poll() is None, proc.communicate()[0].decode()
        yield url
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode()
    assert f"serving the web UI on {url}/" in output


def jobs(url: str, queue: str) -> list[dict[str, Any]]:
    body = {"filters": [{"field": "queue", "value": queue, "match": "exact"}], "order": {}}
    status, text = call(f"{url}/api/v1/jobs", body)
    assert status == 200, text
    return list(json.loads(text)["jobs"])


@pytest.mark.slow
def test_lookout_serves_the_ui_and_the_apis_on_a_shared_store(tmp_path: Path, lookout: str) -> None:
    with (
        EmbeddedArmada(dev_settings(tmp_path / "data"), api_only=True) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        client = ArmadaClient(channel)
        create_queue(client, "shared")
        reply = client.submit_jobs(queue="shared", job_set_id="s1", job_request_items=[item()])
        job_id = reply.job_response_items[0].job_id

        found = wait_until(lambda: jobs(lookout, "shared"), what="the job, seen by lookout")
        assert [(j["jobId"], j["state"]) for j in found] == [(job_id, "QUEUED")]

        cancel = {"queue": "shared", "jobSetId": "s1", "jobIds": [job_id]}
        status, text = call(f"{lookout}/v1/job/cancel", cancel)
        assert status == 200, text
        wait_until(
            lambda: jobs(lookout, "shared")[0]["state"] == "CANCELLED", what="the cancellation"
        )

    status, page = call(f"{lookout}/jobs/{job_id}")
    if (UI_BUILD / "index.html").is_file():
        assert (status, '<div id="root">' in page) == (200, True)
    else:
        assert (status, "make ui" in page) == (503, True)
    assert call(f"{lookout}/api/v1/no-such-route")[0] == 404
    # Told of no scheduler and no Binoculars, it offers neither reports nor logs, and says why.
    paths = json.loads(call(f"{lookout}/api/openapi.json")[1])["paths"]
    assert not {"/v1/binoculars/log", "/v1/job/{job_id}/scheduler-report"} & set(paths)
    problem = json.loads(call(f"{lookout}/api/armada/queues")[1])["schedulerProblem"]
    assert "knows no scheduler to ask" in problem

"""Every process's HTTP side: health, readiness and metrics, beside gRPC on the same loop."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

from prometheus_client import Counter
from starlette.testclient import TestClient

from armada.config.http import HttpSettings
from armada.dev.embedded import EmbeddedArmada
from armada.http import HttpParts, build_app, start_http
from armada.waiting import wait_until
from tests.server_process import with_open_auth


def get(url: str) -> tuple[int, str]:
    try:
        with urlopen(url, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except HTTPError as error:
        with error:
            return error.code, error.read().decode()


def test_health_readiness_and_metrics_of_armada_dev(armada: EmbeddedArmada) -> None:
    assert get(f"{armada.http_url}/healthz") == (200, "ok\n")
    status, body = get(f"{armada.http_url}/readyz")
    assert status == 200
    assert json.loads(body) == {"component": "dev", "ready": True, "reasons": []}
    status, body = get(f"{armada.http_url}/metrics")
    assert status == 200
    assert get(f"{armada.http_url}/no-such-page")[0] == 404


def test_readyz_names_each_part_that_is_not_ready() -> None:
    waiting = ["the views are catching up with the log"]
    parts = HttpParts("server", readiness=[lambda: waiting[0] if waiting else None])
    client = TestClient(build_app(parts))
    reply = client.get("/readyz")
    assert reply.status_code == 503
    assert reply.json()["reasons"] == ["the views are catching up with the log"]
    waiting.clear()
    assert client.get("/readyz").status_code == 200


def test_metrics_are_this_processs_registry() -> None:
    parts = HttpParts("scheduler")
    jobs = Counter("armada_test_jobs", "Jobs.", registry=parts.registry)
    jobs.inc(3)
    text = TestClient(build_app(parts)).get("/metrics").text
    assert "armada_test_jobs_total 3.0" in text


def test_a_port_in_use_is_an_os_error_naming_the_address() -> None:
    async def main() -> str:
        first = await start_http(HttpSettings(host="127.0.0.1", port=0), build_app(HttpParts("a")))
        try:
            taken = int(first.address.rsplit(":", 1)[1])
            try:
                await start_http(
                    HttpSettings(host="127.0.0.1", port=taken), build_app(HttpParts("b"))
                )
            except OSError as exc:
                return str(exc)
            raise AssertionError("the second listener started on a port in use")
        finally:
            await first.stop()

    message = asyncio.run(main())
    assert message.startswith("could not listen on 127.0.0.1:") and "(http)" in message


def test_armada_server_prints_its_http_address_and_serves_health(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "armada.cli.armada_main", "server", "--host", "127.0.0.1"]
    command += ["--port", "0", "--http-port", "0", "--data-dir", str(tmp_path / "data")]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env=with_open_auth(None)
    ) as server:
        try:
            assert server.stdout is not None
            lines = [server.stdout.readline() for _ in range(3)]
            found = re.search(r"http: (http://127\.0\.0\.1:\d+) \(/metrics", lines[2])
            assert found is not None, lines
            url = found.group(1)
            assert get(f"{url}/healthz") == (200, "ok\n")
            wait_until(lambda: get(f"{url}/readyz")[0] == 200, timeout=30, what="ready")
        finally:
            server.terminate()
            server.wait(timeout=30)

"""An embedded Armada with its HTTP side, and an HTTP client for it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from armada.config.auth import open_auth
from armada.dev.embedded import EmbeddedArmada
from armada.security.basic import hash_password
from tests.conftest import dev_settings

MAX_BODY = 256 * 1024  # a small gRPC message limit, so that a "huge" body is cheap to send
PASSWORD = "secret"
# Callers the tests name with `basic(user)`: real basic-auth users beside armada dev's anonymous
# callers, everyone allowed everything (armada dev's default permissions).
USERS = ("alice", "bob", "carol")
_HASH = hash_password(PASSWORD)


@pytest.fixture
def armada(tmp_path: Path) -> Iterator[EmbeddedArmada]:
    auth = open_auth().model_dump(by_alias=True)
    auth["basicAuth"] = {"users": {user: {"passwordHash": _HASH} for user in USERS}}
    settings = dev_settings(
        tmp_path / "data",
        grpc={"host": "127.0.0.1", "port": 0, "max_message_bytes": MAX_BODY},
        auth=auth,
    )
    with EmbeddedArmada(settings) as running:
        yield running


@pytest.fixture
def http(armada: EmbeddedArmada) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=armada.http_url, timeout=30) as client:
        yield client


def basic(user: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def pod(args: tuple[str, ...] = ("sleep", "1")) -> dict[str, Any]:
    """A pod spec as a REST client of Armada writes it (quantities as strings)."""
    resources = {"cpu": "150m", "memory": "64Mi"}
    return {
        "restartPolicy": "Never",
        "containers": [
            {
                "name": "main",
                "image": "busybox:latest",
                "args": list(args),
                "resources": {"requests": resources, "limits": resources},
            }
        ],
    }


def job_item(**fields: Any) -> dict[str, Any]:
    return {"priority": 1, "namespace": "default", "podSpec": pod(), **fields}


def create_queue(http: httpx2.Client, name: str = "queue-a") -> None:
    response = http.post("/v1/queue", json={"name": name, "priorityFactor": 1})
    assert response.status_code == 200, response.text


def submit(http: httpx2.Client, count: int = 3, job_set: str = "s", **fields: Any) -> list[str]:
    body = {
        "queue": "queue-a",
        "jobSetId": job_set,
        "jobRequestItems": [job_item(**fields)] * count,
    }
    response = http.post("/v1/job/submit", json=body)
    assert response.status_code == 200, response.text
    return [item["jobId"] for item in response.json()["jobResponseItems"]]

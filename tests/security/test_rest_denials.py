"""The same authentication and permissions over HTTP as over gRPC: the REST gateway and the
Lookout API refuse what gRPC refuses, with 401/403 and a JSON body naming the permission, and
change nothing."""

from __future__ import annotations

import ssl
from typing import Any

import httpx2

from tests.api_builders import item
from tests.lookout.conftest import job_item
from tests.security.test_secure_system import basic, create_queue, secure_client


def http_client(system: Any, user: str | None) -> httpx2.Client:
    armada, pki = system
    url = armada.http_url.replace("127.0.0.1", "localhost")
    headers = {"Authorization": basic(user)} if user else {}
    trust = ssl.create_default_context(cafile=str(pki.ca))
    return httpx2.Client(base_url=url, headers=headers, verify=trust, timeout=30)


def test_rest_calls_without_credentials_are_401(system: Any) -> None:
    with http_client(system, None) as anonymous:
        reply = anonymous.post("/v1/job/submit", json={"queue": "q", "jobSetId": "s"})
    assert reply.status_code == 401


def test_rest_submit_and_queue_creation_are_denied_naming_the_permission(system: Any) -> None:
    create_queue(secure_client(system, basic("alice")), "rest-private")
    body = {"queue": "rest-private", "jobSetId": "s", "jobRequestItems": [job_item()]}
    with http_client(system, "bob") as bob:
        denied = bob.post("/v1/job/submit", json=body)
        assert denied.status_code == 403
        assert denied.json()["code"] == 7
        assert "lacks permission submit_any_jobs" in denied.json()["message"]
        queue = bob.post("/v1/queue", json={"name": "bobs-rest", "priorityFactor": 1})
        assert queue.status_code == 403 and "create_queue" in queue.json()["message"]
    with http_client(system, "alice") as alice:
        assert alice.get("/v1/queue/bobs-rest").status_code == 404  # nothing was created
        accepted = alice.post("/v1/job/submit", json=body)
        assert accepted.status_code == 200, accepted.text
        listed = alice.post(
            "/api/v1/jobs",
            json={
                "filters": [{"field": "queue", "match": "exact", "value": "rest-private"}],
                "skip": 0,
                "take": 10,
            },
        )
    assert listed.status_code == 200
    assert len(listed.json()["jobs"]) == 1, "alice's accepted job; bob's refused one is absent"


def test_without_watch_the_rest_event_stream_is_denied(system: Any) -> None:
    alice_grpc = secure_client(system, basic("alice"))
    create_queue(alice_grpc, "rest-watched")
    alice_grpc.submit_jobs("rest-watched", "s", [item()])
    with http_client(system, "bob") as bob:
        denied = bob.post("/v1/job-set/rest-watched/s", json={})
    assert denied.status_code == 403, denied.text
    assert "watch" in denied.json()["message"]
    with http_client(system, "alice") as alice:
        allowed = alice.post("/v1/job-set/rest-watched/s", json={})
    assert allowed.status_code == 200
    assert '"submitted"' in allowed.text

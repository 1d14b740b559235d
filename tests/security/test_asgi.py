"""The HTTP door: the middleware authenticates with the process's chain, gives routes the
principal and answers 401 without credentials; probes and metrics stay open."""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from armada.http import HttpParts, build_app
from armada.security import build_security
from armada.security.asgi import request_principal
from tests.security.support import PASSWORDS, auth_settings


def test_routes_get_the_principal_and_strangers_get_401() -> None:
    async def whoami(request: Request) -> Response:
        principal = request_principal(request.scope)
        return JSONResponse({"user": principal.user, "groups": list(principal.groups)})

    parts = HttpParts("server", security=build_security(auth_settings()))
    parts.routes.append(Route("/api/whoami", whoami))
    client = TestClient(build_app(parts))
    refused = client.get("/api/whoami")
    assert refused.status_code == 401
    assert "credentials are required" in refused.json()["error"]
    assert refused.headers["www-authenticate"].startswith("Basic")
    pair = base64.b64encode(f"bob:{PASSWORDS['bob']}".encode()).decode()
    answer = client.get("/api/whoami", headers={"authorization": f"Basic {pair}"})
    assert answer.json() == {"user": "bob", "groups": ["users"]}
    wrong = base64.b64encode(b"bob:nope").decode()
    assert client.get("/api/whoami", headers={"authorization": f"Basic {wrong}"}).status_code == 401
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200

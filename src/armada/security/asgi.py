"""The HTTP door: ASGI middleware that authenticates each request with the process's chain,
puts the principal in ``scope["armada.principal"]`` for the routes, and answers 401 when no
authenticator accepts. Health, readiness and metrics stay open (probes and Prometheus)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from armada.security.chain import Security, authorization_header
from armada.security.errors import Unauthenticated
from armada.security.principal import Principal

PRINCIPAL_KEY = "armada.principal"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def request_principal(scope: Scope) -> Principal:
    """The principal the middleware put in ``scope`` (KeyError if it did not run)."""
    principal: Principal = scope[PRINCIPAL_KEY]
    return principal


class AuthMiddleware:
    def __init__(
        self, app: ASGIApp, security: Security, open_paths: frozenset[str] = OPEN_PATHS
    ) -> None:
        self.app = app
        self.security = security
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        try:
            principal = await self.security.authenticate_off_loop(authorization_header(headers))
        except Unauthenticated as exc:
            if scope["type"] == "websocket":  # refused before it is accepted: 1008, policy
                await send({"type": "websocket.close", "code": 1008, "reason": str(exc)[:120]})
            else:
                await _unauthorised(send, str(exc))
            return
        scope[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)


async def _unauthorised(send: Send, message: str) -> None:
    body = json.dumps({"error": message, "code": "UNAUTHENTICATED"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Basic realm="armada", Bearer'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

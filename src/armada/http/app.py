"""The ASGI application every process serves: health, readiness and metrics, plus the routes
a component adds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from armada.security import Security
from armada.security.asgi import AuthMiddleware

# A readiness check returns None when its part is ready, else why it is not (in words).
ReadinessCheck = Callable[[], str | None]


@dataclass
class HttpParts:
    """What one process serves over HTTP. Components add to it before the listener starts:
    their metrics to ``registry``, their checks to ``readiness``, their routes to ``routes``."""

    component: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    readiness: list[ReadinessCheck] = field(default_factory=list)
    routes: list[BaseRoute] = field(default_factory=list)
    security: Security | None = None
    """Given: every route but health, readiness and metrics needs credentials its chain
    accepts, and finds the caller in ``request.scope["armada.principal"]``."""
    # Awaited by routes that read the views before answering, while the views catch up with
    # the log at start (``armada server``); None when they are up to date from the start.
    views_ready: Callable[[], Awaitable[object]] | None = None


def build_app(parts: HttpParts) -> ASGIApp:
    async def healthz(_: Request) -> Response:
        # Answering at all shows the process and its event loop are alive.
        return PlainTextResponse("ok\n")

    async def readyz(_: Request) -> Response:
        reasons = [reason for check in parts.readiness if (reason := check()) is not None]
        status = 503 if reasons else 200
        body = {"component": parts.component, "ready": not reasons, "reasons": reasons}
        return JSONResponse(body, status_code=status)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(parts.registry), media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *parts.routes,
    ]
    app = Starlette(routes=routes)
    if parts.security is None:
        return app
    return AuthMiddleware(app, parts.security)

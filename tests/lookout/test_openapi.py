"""The OpenAPI document served at /api/openapi.json describes every HTTP route."""

from __future__ import annotations

from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.routing import Route

from armada.dev.embedded import EmbeddedArmada
from armada.lookout.gateway import http_rules

# The process's own routes (every process has them; not part of the APIs).
PROCESS_ROUTES = {"/healthz", "/readyz", "/metrics", "/api/openapi.json"}


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if "$ref" in node else set()
        return found.union(*(refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node))
    return set()


def test_the_document_describes_every_route(armada: EmbeddedArmada, http: httpx2.Client) -> None:
    response = http.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    app = armada.system.http.app  # type: ignore[union-attr]
    while not isinstance(app, Starlette):  # under middleware (authentication)
        app = app.app

    served = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route) and route.path not in PROCESS_ROUTES
        for method in route.methods or ()
        if method != "HEAD"
    }
    described = {(path, verb) for path, ops in document["paths"].items() for verb in ops}
    assert served == described
    assert len(served) == len(http_rules()) + 11  # the gateway's and the Lookout API's
    schemas = document["components"]["schemas"]
    assert {ref.rsplit("/", 1)[1] for ref in refs(document)} <= set(schemas)
    submit = document["paths"]["/v1/job/submit"]["post"]["requestBody"]["content"]
    assert submit["application/json"]["schema"] == {
        "$ref": "#/components/schemas/api.JobSubmitRequest"
    }
    assert "jobRequestItems" in schemas["api.JobSubmitRequest"]["properties"]

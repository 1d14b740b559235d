"""The OpenAPI document served at /api/openapi.json describes every HTTP route."""

from __future__ import annotations

from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.routing import Route

from armada.dev.embedded import EmbeddedArmada
from armada.lookout.gateway import http_rules
from armada.lookout.openapi import openapi_document

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


def test_kubernetes_types_are_described_as_armada_describes_them() -> None:
    """Quantities as strings, IntOrString as either, times as RFC 3339, inline structs' fields
    in their parent (Armada's swagger has ``resourceQuantity: {"type": "string"}``)."""
    schemas = openapi_document(http_rules(), {})["components"]["schemas"]
    resources = schemas["k8s.io.api.core.v1.ResourceRequirements"]["properties"]
    assert resources["requests"]["additionalProperties"]["type"] == "string"
    port = schemas["k8s.io.api.core.v1.HTTPGetAction"]["properties"]["port"]
    assert port["oneOf"] == [{"type": "integer", "format": "int32"}, {"type": "string"}]
    metadata = schemas["k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]
    assert metadata["creationTimestamp"] == {"type": "string", "format": "date-time"}
    volume = schemas["k8s.io.api.core.v1.Volume"]["properties"]
    assert {"name", "emptyDir", "configMap"} <= set(volume) and "volumeSource" not in volume
    config_map = schemas["k8s.io.api.core.v1.ConfigMapVolumeSource"]["properties"]
    assert "name" in config_map and "localObjectReference" not in config_map
    probe = schemas["k8s.io.api.core.v1.Probe"]["properties"]
    assert {"httpGet", "tcpSocket", "periodSeconds"} <= set(probe) and "handler" not in probe
    assert not any(name.startswith("k8s.io.apimachinery.pkg.api.resource") for name in schemas)

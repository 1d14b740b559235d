"""The HTTP APIs of ``armada server`` and ``armada dev``: the Lookout v2 API and the REST
gateway, composed here from the views and the public API's servicers (``armada.lookout``
imports neither the server nor its servicers: it is handed what it calls)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.json_format import MessageToDict

from armada.domain.jobs import JobSpec
from armada.http import HttpParts
from armada.lookout.api import LookoutReader, lookout_routes
from armada.lookout.api.extras import QueueFigures, Rounds
from armada.lookout.api.openapi_paths import LOOKOUT_PATHS
from armada.lookout.gateway import Gateway, Handler, http_rules
from armada.lookout.openapi import openapi_route
from armada.server.context import ApiContext
from armada.server.convert_jobs import api_job


def _job_spec(spec: JobSpec) -> dict[str, Any]:
    return MessageToDict(api_job(spec))


def add_http_api(
    parts: HttpParts,
    api: ApiContext,
    servicers: Mapping[str, object],
    rounds: Rounds | None = None,
) -> QueueFigures:
    """Add the REST gateway's routes (calling ``servicers``, by service name) and the Lookout
    API's to ``parts``; ``rounds`` gives the in-process scheduler's recent rounds. Returns the
    queues page's figures (to be told the rounds of a scheduler in another process)."""
    handlers: dict[str, Handler] = {}
    for rule in http_rules():
        method = getattr(servicers.get(rule.service), rule.method, None)
        if method is not None:
            handlers[rule.key] = method
    gateway = Gateway(handlers, api.settings.grpc.max_message_bytes, parts.views_ready)
    parts.routes.extend(gateway.routes())
    reader = LookoutReader(api.storage.store, api.clock.now)
    figures = QueueFigures(reader, rounds)
    parts.routes.extend(lookout_routes(reader, _job_spec, api.storage.log, api.security, figures))
    parts.routes.append(openapi_route(gateway.rules, LOOKOUT_PATHS))
    return figures

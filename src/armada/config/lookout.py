"""Settings of ``armada lookout``: the web UI with the Lookout API and the REST gateway, on a
store that other processes (``armada server``, ``armada scheduler``) share."""

from __future__ import annotations

from pydantic import Field

from armada.config.http import HttpSettings, http_on
from armada.config.server import ServerSettings


class LookoutSettings(ServerSettings):
    """``armada lookout``: the web UI, the Lookout API and the REST gateway, over HTTP only
    (its ``grpc`` section is unused: the public gRPC API is ``armada server``'s)."""

    http: HttpSettings = Field(
        default_factory=lambda: http_on(10000),
        description="Where the UI and its APIs listen (Armada's Lookout: port 10000).",
    )

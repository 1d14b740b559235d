"""Where a process's HTTP side listens."""

from __future__ import annotations

from pydantic import Field

from armada.config.auth import TlsSettings
from armada.config.base import Settings


class HttpSettings(Settings):
    """Every process's HTTP side: ``/metrics``, ``/healthz`` and ``/readyz`` everywhere; the
    REST gateway and Lookout where they are served (``armada server``, ``armada dev``)."""

    enabled: bool = Field(True, description="Serve HTTP at all.")
    host: str = Field("localhost", description="Interface the HTTP side listens on.")
    port: int = Field(
        8080,
        ge=0,
        le=65535,
        description="HTTP port; 0 picks any free one (Armada's: 8080 for the server's"
        " gateway, 9000 for the scheduler's metrics, 9001 for an executor's).",
    )
    tls: TlsSettings = Field(default_factory=TlsSettings)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def http_on(port: int) -> HttpSettings:
    """The defaults, on ``port``: each component's own default port."""
    return HttpSettings(port=port)

"""Settings of ``armada lookout``: the web UI with the Lookout API and the REST gateway, on a
store that other processes (``armada server``, ``armada scheduler``) share, and where it asks
for what the store does not hold: the scheduler's reports and each cluster's job logs."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from armada.config.auth import ClientCredentials, ClientTlsSettings
from armada.config.base import Duration
from armada.config.http import HttpSettings, http_on
from armada.config.server import ServerSettings

CLUSTER_ID = "{CLUSTER_ID}"  # Armada's placeholder in binocularsBaseUrlPattern


class LookoutSettings(ServerSettings):
    """``armada lookout``: the web UI, the Lookout API and the REST gateway, over HTTP only
    (its ``grpc`` section is unused: the public gRPC API is ``armada server``'s)."""

    http: HttpSettings = Field(
        default_factory=lambda: http_on(10000),
        description="Where the UI and its APIs listen (Armada's Lookout: port 10000).",
    )
    scheduler_address: str = Field(
        "",
        description="host:port of `armada scheduler`'s gRPC API, whose reports service "
        "(SchedulerReporting) gives the queues page its shares and the UI its scheduling "
        "reports; empty: neither is offered.",
    )
    scheduler_tls: ClientTlsSettings = Field(
        default_factory=ClientTlsSettings, description="TLS towards schedulerAddress."
    )
    scheduler_poll_interval: Duration = Field(
        timedelta(seconds=5),
        description="How often the queues' shares are asked for (the scheduler keeps its "
        "last reportRoundsKept rounds, one every schedulePeriod: 10s by default).",
    )
    binoculars_address_pattern: str = Field(
        "",
        description="host:port of each cluster's Binoculars (`armada executor`'s "
        "binoculars.port), with {CLUSTER_ID} standing for the cluster's id (Armada's "
        "binocularsBaseUrlPattern, but a gRPC address); empty: only binocularsAddresses.",
    )
    binoculars_addresses: dict[str, str] = Field(
        default_factory=dict,
        description="Cluster id -> host:port of its Binoculars; wins over "
        "binocularsAddressPattern.",
    )
    binoculars_tls: ClientTlsSettings = Field(
        default_factory=ClientTlsSettings, description="TLS towards the Binoculars."
    )
    credentials: ClientCredentials = Field(
        default_factory=ClientCredentials,
        description="What lookout presents to the scheduler and the Binoculars: it needs "
        "watch_all_events there (lookout checks each caller's `watch` on the queue itself).",
    )
    call_timeout: Duration = Field(
        timedelta(seconds=10),
        description="Longest wait for the scheduler or a Binoculars; beyond it the caller "
        "is told that it cannot be reached (503).",
    )

    def binoculars_address(self, cluster: str) -> str:
        """Where ``cluster``'s Binoculars listens ("" if not configured)."""
        found = self.binoculars_addresses.get(cluster)
        if found is not None:
            return found
        pattern = self.binoculars_address_pattern
        return pattern.replace(CLUSTER_ID, cluster) if pattern else ""

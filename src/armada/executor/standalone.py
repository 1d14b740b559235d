"""What ``armada executor`` runs: the agent for one cluster and, beside it, Binoculars.

In Armada, Binoculars (job logs) is a service per cluster. Here the standalone executor serves
it itself, on ``binoculars.host:port``: ``Logs`` for the jobs whose pods are in its cluster,
found through the executor's own run tracker and read from whichever backend it runs, to the
callers who may ``watch`` the job's queue. (``armada dev`` serves logs for all its simulated
clusters on its public port instead.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from armada.config.executor import ExecutorConfig
from armada.domain.clock import Clock
from armada.executor.agent import ExecutorAgent
from armada.executor.cluster import Cluster
from armada.executor.log_access import (
    QueuePermissions,
    binoculars_security,
    executor_log_gate,
    tracked_queue,
)
from armada.executor.logs import BinocularsLogService, PodLocation
from armada.executor.metrics import ExecutorCollector
from armada.executor.runs import RunTracker
from armada.http import HttpListener, HttpParts, build_app, start_http
from armada.security.grpc_auth import AuthInterceptor
from armada.security.tls import server_credentials


@dataclass
class LogListener:
    """The executor's Binoculars gRPC server, the address it listens on and the queue
    permissions it reads from the API server."""

    server: grpc.aio.Server
    address: str
    queues: QueuePermissions

    async def stop(self) -> None:
        await self.server.stop(1.0)
        await self.queues.close()


def tracked_pods(cluster: str, tracker: RunTracker) -> Callable[[str], PodLocation | None]:
    """Where a job's pod is, from the runs ``tracker`` looks after on ``cluster``."""

    def locate(job_id: str) -> PodLocation | None:
        found = tracker.pod_of_job(job_id)
        return PodLocation(cluster, found[1], found[0]) if found is not None else None

    return locate


async def start_log_listener(
    settings: ExecutorConfig, tracker: RunTracker, cluster: Cluster
) -> LogListener | None:
    """Serve Binoculars ``Logs`` for ``cluster`` (None when ``binoculars.port`` is 0), to
    callers the executor's ``auth`` chain accepts and who may ``watch`` the job's queue
    (:mod:`armada.executor.log_access`).

    Raises ConfigError when no authenticator is configured, OSError when the address cannot
    be listened on.
    """
    where = settings.binoculars
    if not where.port:
        return None
    security = binoculars_security(settings)
    server = grpc.aio.server(
        interceptors=[AuthInterceptor(security)], options=[("grpc.so_reuseport", 0)]
    )
    lookup = tracked_pods(settings.cluster_id, tracker)
    queues = QueuePermissions(settings)
    gate = executor_log_gate(security, tracked_queue(tracker), queues)
    BinocularsLogService(lookup, {settings.cluster_id: cluster}, gate).add_to_server(server)
    address = f"{where.host}:{where.port}"
    try:
        if where.tls.enabled:
            port = server.add_secure_port(address, server_credentials(where.tls))
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as exc:  # grpc raises this, not OSError, for a port in use
        raise OSError(f"could not listen on {address} (binoculars): {exc}") from None
    if port == 0:
        raise OSError(f"could not listen on {address} (binoculars)")
    await server.start()
    return LogListener(server, address, queues)


@dataclass
class ExecutorListeners:
    """What a standalone executor listens on: Binoculars (gRPC) and its HTTP side."""

    logs: LogListener | None
    http: HttpListener | None


async def serve_executor(
    settings: ExecutorConfig,
    cluster: Cluster,
    *,
    stop: asyncio.Event,
    clock: Clock | None = None,
    on_ready: Callable[[ExecutorListeners], None] | None = None,
) -> None:
    """Run the executor for ``cluster``, with its Binoculars and its HTTP side (metrics,
    health), until ``stop`` is set."""
    agent = ExecutorAgent(settings=settings, cluster=cluster, clock=clock)
    listener = await start_log_listener(settings, agent.tracker, cluster)
    http: HttpListener | None = None
    try:
        if settings.http.enabled:
            parts = HttpParts("executor")
            metrics = ExecutorCollector()
            metrics.add(settings.cluster_id, lambda: agent.nodes, agent.tracker)
            parts.registry.register(metrics)
            http = await start_http(settings.http, build_app(parts))
        if on_ready is not None:
            on_ready(ExecutorListeners(listener, http))
        await agent.run(stop)
    finally:
        if http is not None:
            await http.stop()
        if listener is not None:
            await listener.stop()

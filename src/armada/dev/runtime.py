"""Running the components in one asyncio loop.

``start_system`` is what ``armada dev`` (and the embedded test harness) runs: storage, the API
server, and the view follower; the scheduler and the simulated executors join here as they are
built. ``start_api_server`` is what ``armada server`` runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from armada.config.dev import DevSettings
from armada.config.server import ServerSettings
from armada.domain.clock import Clock, IdSource
from armada.server.app import add_public_api, grpc_options, make_api_context
from armada.views.storage import Storage, open_storage
from armada.views.updater import follow_log

log = logging.getLogger(__name__)


@dataclass
class RunningSystem:
    address: str
    storage: Storage
    server: grpc.aio.Server
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self, grace: float = 1.0) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.server.stop(grace)
        self.storage.close()


async def start_api_server(
    settings: ServerSettings, clock: Clock | None = None, ids: IdSource | None = None
) -> RunningSystem:
    """Open the storage, serve the public API, follow the log; return once the port is bound."""
    storage = await asyncio.to_thread(open_storage, settings.storage)
    api = make_api_context(storage, settings, clock, ids)
    server = grpc.aio.server(options=grpc_options(settings))
    add_public_api(server, api)
    port = server.add_insecure_port(settings.grpc.address)
    if port == 0:
        storage.close()
        raise OSError(f"could not listen on {settings.grpc.address}")
    await server.start()
    follower = asyncio.create_task(
        follow_log(storage.updater, settings.events.poll_interval.total_seconds()),
        name="view-follower",
    )
    return RunningSystem(
        address=f"{settings.grpc.host}:{port}", storage=storage, server=server, tasks=[follower]
    )


async def start_system(
    settings: DevSettings, clock: Clock | None = None, ids: IdSource | None = None
) -> RunningSystem:
    """Everything ``armada dev`` runs, in this loop."""
    return await start_api_server(settings, clock, ids)


async def serve_until_stopped(
    start: Callable[[], object],
    stop: asyncio.Event,
    on_ready: Callable[[RunningSystem], None] | None = None,
) -> None:
    system = await start()  # type: ignore[misc]
    assert isinstance(system, RunningSystem)
    try:
        if on_ready is not None:
            on_ready(system)
        await stop.wait()
    finally:
        await system.stop()

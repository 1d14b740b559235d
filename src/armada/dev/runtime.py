"""Running the components in one asyncio loop: the API server now; the scheduler and the
simulated executors join here as they are built."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from armada.config.dev import DevSettings
from armada.domain.clock import Clock, IdSource
from armada.server.app import add_public_api, grpc_options, make_api_context
from armada.views.storage import Storage, open_storage

log = logging.getLogger(__name__)


@dataclass
class RunningSystem:
    address: str
    storage: Storage
    server: grpc.aio.Server

    async def stop(self, grace: float = 1.0) -> None:
        await self.server.stop(grace)
        self.storage.close()


async def start_system(
    settings: DevSettings, clock: Clock | None = None, ids: IdSource | None = None
) -> RunningSystem:
    """Open the storage, start serving, return once the port is bound."""
    storage = await asyncio.to_thread(open_storage, settings.storage)
    api = make_api_context(storage, settings, clock, ids)
    server = grpc.aio.server(options=grpc_options(settings))
    add_public_api(server, api)
    port = server.add_insecure_port(settings.grpc.address)
    if port == 0:
        storage.close()
        raise OSError(f"could not listen on {settings.grpc.address}")
    await server.start()
    return RunningSystem(address=f"{settings.grpc.host}:{port}", storage=storage, server=server)


async def serve_until_stopped(
    settings: DevSettings,
    stop: asyncio.Event,
    on_ready: Callable[[RunningSystem], None] | None = None,
) -> None:
    system = await start_system(settings)
    try:
        if on_ready is not None:
            on_ready(system)
        await stop.wait()
    finally:
        await system.stop()

"""Holding the calls that read the views until the views have caught up with the log.

`armada server` listens as soon as its store is open, whatever the views have to replay
first (after a crash, or a rebuild): a restart then costs what is behind only to the calls
that read the views (jobs, queues, submissions, which check queues and client ids), and
only until the first catch-up is done. Event streams read the log itself and are served at
once, as are the health checks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from armada.views.updater import ViewUpdater

log = logging.getLogger(__name__)

# Methods that never read the views.
UNGATED_SERVICES = ("/api.Event/", "/armadapy.events.v1.EventBatches/")
RETRY_AFTER = 1.0


class ViewsGate(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self) -> None:
        self.ready = asyncio.Event()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        method: str = details.method
        if not (
            self.ready.is_set() or method.startswith(UNGATED_SERVICES) or method.endswith("/Health")
        ):
            await self.ready.wait()
        return await continuation(details)

    def not_ready_reason(self) -> str | None:
        """For ``/readyz``: None once the views have caught up with the log."""
        return None if self.ready.is_set() else "the views are catching up with the log"

    async def open_after_catch_up(self, updater: ViewUpdater) -> None:
        """Bring the views up to date (retrying on failure), then let every call through."""
        while True:
            try:
                offset = await asyncio.to_thread(updater.catch_up)
            except Exception:
                log.exception("views: catching up with the log failed; retrying")
                await asyncio.sleep(RETRY_AFTER)
                continue
            log.info("views: up to date with the log at offset %d", offset)
            self.ready.set()
            return

"""An ``armada dev`` running in a background thread: for tests, benchmarks and notebooks.

    with EmbeddedArmada(DevSettings(...)) as armada:
        channel = grpc.insecure_channel(armada.address)

``api_only=True`` runs what ``armada server`` runs instead (the public API alone).
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from armada.config.dev import DevSettings
from armada.dev.runtime import RunningSystem, start_api_server, start_system
from armada.domain.clock import Clock, IdSource


class EmbeddedArmada:
    def __init__(
        self,
        settings: DevSettings,
        clock: Clock | None = None,
        ids: IdSource | None = None,
        *,
        api_only: bool = False,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._ids = ids
        self._api_only = api_only
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="armada-dev", daemon=True
        )
        self._system: RunningSystem | None = None

    @property
    def system(self) -> RunningSystem:
        assert self._system is not None, "not started"
        return self._system

    @property
    def system_loop(self) -> asyncio.AbstractEventLoop:
        """The loop the system runs in (to schedule work on it from a test)."""
        return self._loop

    @property
    def address(self) -> str:
        return self.system.address

    @property
    def http_url(self) -> str:
        """``http://host:port`` of its HTTP side (metrics, health, and what else it serves)."""
        assert self.system.http is not None, "started with http.enabled false"
        return self.system.http.url

    def start(self) -> EmbeddedArmada:
        self._thread.start()
        start = start_api_server if self._api_only else start_system
        future = asyncio.run_coroutine_threadsafe(
            start(self.settings, self._clock, self._ids), self._loop
        )
        self._system = future.result(timeout=30)
        return self

    def stop(self) -> None:
        if self._system is not None:
            asyncio.run_coroutine_threadsafe(self._system.stop(0.5), self._loop).result(timeout=30)
            self._system = None
        asyncio.run_coroutine_threadsafe(_drain(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> EmbeddedArmada:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


async def _drain() -> None:
    """Let tasks still being cancelled (stream handlers) finish before the loop stops."""
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)

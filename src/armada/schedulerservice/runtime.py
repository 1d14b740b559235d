"""The scheduler's loop, from asyncio: its one worker thread, the tick, and the lease streams'
wake-ups.

Everything that touches the scheduler's state runs on the :class:`SchedulerWorker`'s thread
(through :meth:`SchedulerRuntime.call`), so a lease stream's answer, a report and a scheduling
round never race; the service asserts it (see :mod:`armada.schedulerservice.worker`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from armada.eventlog.base import StoreBusy, StoreFull, StoreUnavailable
from armada.schedulerservice.executors import LOOP_SEEN_WITHIN
from armada.schedulerservice.service import SchedulerService
from armada.schedulerservice.worker import SchedulerWorker

log = logging.getLogger(__name__)
T = TypeVar("T")


class SchedulerRuntime:
    """Runs the service's work on one worker thread, from asyncio."""

    def __init__(self, service: SchedulerService) -> None:
        self.service = service
        self._worker = SchedulerWorker(service.owner)
        self._wakers: set[Callable[[], None]] = set()
        service.on_new_leases(self._wake_all)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the scheduler's worker thread."""
        return await self._worker.call(fn, *args)

    def add_waker(self, waker: Callable[[], None]) -> None:
        self._wakers.add(waker)

    def remove_waker(self, waker: Callable[[], None]) -> None:
        self._wakers.discard(waker)

    def _wake_all(self) -> None:
        for waker in list(self._wakers):
            waker()

    async def run(self) -> None:
        """The service's loop: one tick every cyclePeriod, until cancelled."""
        period = self.service.config.loop.cycle_period.total_seconds()
        hearing = asyncio.create_task(self._watch_hearing())
        try:
            while True:
                try:
                    await self.call(self.service.tick)
                except (StoreFull, StoreBusy, StoreUnavailable) as exc:
                    log.warning("scheduler tick: %s; carrying on", exc)
                except Exception:
                    log.exception("scheduler tick failed; carrying on")
                await asyncio.sleep(period)
        finally:
            hearing.cancel()

    async def _watch_hearing(self, interval: float = 0.1) -> None:
        """Tell the registry, ten times a second, that this loop (which hears the executors'
        requests) runs, and when it had been held: a blocking call on the loop silences every
        executor at once, and that silence is the scheduler's, not theirs."""
        executors, clock = self.service.executors, self.service.monotonic
        while True:
            before = clock()
            await asyncio.sleep(interval)
            now = clock()
            late = now - before - interval
            executors.loop_seen(now, held_for=late if late > LOOP_SEEN_WITHIN / 2 else 0.0)

    def close(self) -> None:
        self._worker.close()

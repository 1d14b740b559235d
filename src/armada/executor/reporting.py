"""Run events on their way to the scheduler: batched, in order, retried until they arrive.

Events are never dropped while the process lives. They wait in one ordered buffer; a batch is
removed from it only once ``ReportEvents`` accepted it, and a failed call is retried with
exponential backoff. Delivery is therefore at least once (a call that failed after the server
applied it is sent again), and the scheduler treats a repeated run event as a no-op. When the
buffer grows past its limit the executor says so loudly and stops taking new leases until it
drains; it still keeps every event.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from armada.executor.instructions import ReportEvent
from armada.executor.wire import run_event_to_proto
from armada.rpc.gen import executorapi_pb2 as pb

log = logging.getLogger(__name__)

Send = Callable[[Sequence[pb.RunEvent]], Awaitable[None]]
Delivered = Callable[[list[str]], None]


class Backoff:
    """Exponential waits between retries: initial, doubled each time, capped; reset on success."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._initial = initial
        self._maximum = maximum
        self._next = initial

    def next(self) -> float:
        wait = self._next
        self._next = min(self._maximum, self._next * 2)
        return wait

    def reset(self) -> None:
        self._next = self._initial


class EventReporter:
    """Buffers run events and sends them in order through ``send``."""

    def __init__(
        self,
        send: Send,
        *,
        on_delivered: Delivered,
        batch_size: int,
        flush_interval: float,
        buffer_limit: int,
        backoff: Backoff,
    ) -> None:
        self._send = send
        self._on_delivered = on_delivered
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._limit = buffer_limit
        self._backoff = backoff
        self._buffer: deque[tuple[pb.RunEvent, str, bool]] = deque()
        self._pending = asyncio.Event()
        self._over = False
        self._stopping = False
        self.sent = 0
        self.failures = 0

    @property
    def backlog(self) -> int:
        return len(self._buffer)

    @property
    def over_limit(self) -> bool:
        return self._over

    def add(self, report: ReportEvent) -> None:
        event = report.event
        self._buffer.append((run_event_to_proto(event, report.created), event.run_id, report.final))
        if len(self._buffer) > self._limit and not self._over:
            self._over = True
            log.error(
                "%d run events are waiting to reach the scheduler (limit %d): no new leases "
                "until they are delivered; none is dropped",
                len(self._buffer),
                self._limit,
            )
        self._pending.set()

    async def run(self) -> None:
        """Send buffered events until :meth:`finish` was called and none is left."""
        while not (self._stopping and not self._buffer):
            await self._pending.wait()
            if len(self._buffer) < self._batch_size and not self._stopping:
                await asyncio.sleep(self._flush_interval)
            self._pending.clear()
            while self._buffer:
                if not await self._send_batch():
                    await asyncio.sleep(self._backoff.next())

    def finish(self) -> None:
        """Ask :meth:`run` to send what is buffered, then return (it keeps retrying)."""
        self._stopping = True
        self._pending.set()

    async def _send_batch(self) -> bool:
        count = min(self._batch_size, len(self._buffer))
        batch = [self._buffer[i] for i in range(count)]
        try:
            await self._send([item[0] for item in batch])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failures += 1
            log.warning("reporting %d run events failed, will retry: %s", count, exc)
            return False
        for _ in range(count):
            self._buffer.popleft()
        self.sent += count
        self._backoff.reset()
        if self._over and len(self._buffer) <= self._limit:
            self._over = False
            log.warning("run event backlog is back to %d: taking leases again", len(self._buffer))
        finals = [run_id for _, run_id, final in batch if final]
        if finals:
            self._on_delivered(finals)
        return True

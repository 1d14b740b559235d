"""The scheduler's one worker thread, and the guard that holds the code to it.

The scheduler's state (:class:`~armada.schedulerservice.state.SchedulerState`) is not
thread-safe: a lease stream's answer, an executor's reports and a scheduling round must never
run at once. Rather than locks, one thread owns it. :class:`OwnerThread` says which: the thread
that made the service (a test or a benchmark driving it directly) until a
:class:`SchedulerWorker` starts, then the worker's thread for good. The service's entry points
call :meth:`OwnerThread.check`, an assertion (gone under ``python -O``), so that a call from the
wrong thread fails at once in tests instead of racing in production.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class OwnerThread:
    """The one thread allowed to touch the scheduler's state."""

    def __init__(self) -> None:
        self._ident = threading.get_ident()
        self._name = threading.current_thread().name

    def claim(self) -> None:
        """Make the calling thread the owner (a worker thread, as it starts)."""
        self._ident = threading.get_ident()
        self._name = threading.current_thread().name

    def check(self) -> None:
        """Assert that the calling thread is the owner."""
        assert threading.get_ident() == self._ident, (
            f"the scheduler's state is owned by thread {self._name!r}, "
            f"not {threading.current_thread().name!r}"
        )


class SchedulerWorker:
    """A single-thread executor that takes ownership of the scheduler's state as its thread
    starts: everything that touches the state goes through :meth:`call`."""

    def __init__(self, owner: OwnerThread) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="scheduler", initializer=owner.claim
        )

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

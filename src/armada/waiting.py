"""Waiting for a condition, with a deadline: the one way tests (and test fakes) wait.

A test never sleeps to let something happen; it waits until what it needs holds, and fails
with a clear message if that takes longer than the deadline. :func:`wait_until` is for threads,
:func:`wait_until_async` for asyncio code (where something may also signal that the condition
is worth checking again). Both return the condition's first true value, so a test can wait for
a thing and use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _failure(condition: Callable[[], object], timeout: float, what: str) -> AssertionError:
    return AssertionError(f"timed out after {timeout:g}s waiting for {what or condition}")


def wait_until(
    condition: Callable[[], T], timeout: float = 30.0, what: str = "", interval: float = 0.02
) -> T:
    """Call ``condition`` until it returns something true and return that; raise
    AssertionError (naming ``what``) if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _failure(condition, timeout, what)
        time.sleep(interval)


async def wait_until_async(
    condition: Callable[[], T],
    timeout: float = 30.0,
    what: str = "",
    changed: asyncio.Event | None = None,
    interval: float = 0.02,
) -> T:
    """:func:`wait_until` for asyncio: check again every ``interval``, or as soon as
    ``changed`` is set by whatever may have made the condition true."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise _failure(condition, timeout, what)
        if changed is None:
            await asyncio.sleep(min(interval, left))
            continue
        changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), min(interval, left))

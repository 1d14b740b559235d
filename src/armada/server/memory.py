"""Giving freed memory back to the operating system.

Event streams allocate and free many short-lived buffers (batches, gRPC's copies of them).
glibc keeps freed heap memory for reuse instead of returning it, so a server that served a
thousand watchers would keep their peak for ever. :func:`release_soon` asks glibc to return
what it holds free (``malloc_trim``), once, shortly after the last of a burst of calls; it
does nothing where the C library has no ``malloc_trim``.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Callable

DELAY = 1.0


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_trim = _load_trim()


class MemoryReleaser:
    """Trims the C heap ``DELAY`` seconds after the last :meth:`release_soon`."""

    def __init__(self) -> None:
        self._pending: asyncio.TimerHandle | None = None

    def release_soon(self) -> None:
        if _trim is None:
            return
        if self._pending is not None:
            self._pending.cancel()
        self._pending = asyncio.get_running_loop().call_later(DELAY, self._release)

    def _release(self) -> None:
        self._pending = None
        if _trim is not None:
            _trim(0)

"""A watch on the asyncio loop itself: say so when something held it.

Every component of ``armada dev`` (the API, the scheduler's executor API, the executors) shares
one loop; a call that blocks it (file or database I/O, a long computation) silences all of them
at once, and an executor's lease stream with them. The watch wakes every ``interval`` and logs
a warning naming how long the loop was held when it wakes late by more than ``threshold``;
running the process with ``PYTHONASYNCIODEBUG=1`` then names the slow callback. It costs one
timer every ``interval``.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


async def watch_loop(interval: float = 0.5, threshold: float = 1.0) -> None:
    """Run until cancelled, warning of every time the loop was held over ``threshold`` s."""
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(interval)
        late = loop.time() - before - interval
        if late > threshold:
            log.warning(
                "the event loop was held for %.1fs (something blocked it; run with "
                "PYTHONASYNCIODEBUG=1 to see which callback)",
                late,
            )

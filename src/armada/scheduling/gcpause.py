"""Pausing Python's cyclic garbage collector around a scheduling round.

A round allocates tens of thousands of short-lived objects while the process holds millions
of long-lived ones (the job database). The cyclic collector, triggered by allocation counts,
then repeatedly walks the young generations and now and then the whole heap: measured on the
preempting-pass benchmark, this nearly doubles the round's time. Nothing a round allocates
forms reference cycles that outlive it, so the caller (the scheduler service, the simulator,
the benchmarks) may pause the collector for the round: reference counting still frees
everything, and the collector runs again afterwards. This touches interpreter-wide state, so
the core never does it by itself; the caller opts in.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; restore its previous state after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

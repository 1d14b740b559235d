"""Token buckets for the scheduling rate limits, as plain data in and out of each round.

The global bucket (``maximumSchedulingRate``/``Burst``) and one bucket per queue
(``maximumPerQueueSchedulingRate``/``Burst``) refill with time and lose one token per job
scheduled. The core reads no clock: the bucket state is an input of :func:`schedule` together
with ``now``, and the state after the round is part of its result.
"""

from __future__ import annotations

import msgspec


class Bucket(msgspec.Struct, frozen=True, kw_only=True):
    tokens: float
    updated_at: float


class RateLimiterState(msgspec.Struct, frozen=True, kw_only=True):
    """Tokens left after the last round; a queue absent here starts with a full bucket."""

    global_bucket: Bucket | None = None
    queues: dict[str, Bucket] = msgspec.field(default_factory=dict)


def refill(bucket: Bucket | None, rate: float, burst: int, now: float) -> float:
    """Tokens available at ``now`` (a missing bucket is full; time never runs backwards)."""
    if bucket is None:
        return float(burst)
    elapsed = max(0.0, now - bucket.updated_at)
    return min(float(burst), bucket.tokens + rate * elapsed)

"""Admission of a new item in a round: every limit it must pass, and what failing one means.

Rate limits (global and per queue), the round's resource cap, the per-queue cap of each
priority class, lookback and gang size are checked here, cheapest first. A fast path answers
"all clear" with a few comparisons; only a refused item pays for finding out which limit it
hit, which decides whether one job, its whole key group, its queue or the round stops.

As in Armada: the round's resource cap stops the round once what was scheduled *exceeds* it
(so the item that crosses it is still scheduled, and whether an item fits never matters);
an empty token bucket stops the round (global) or the queue, while a gang that needs more
tokens than are left is only skipped, so that smaller items after it may use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from armada.domain.resources import format_quantity
from armada.scheduling.candidates import Item, QueueCandidates

if TYPE_CHECKING:
    from armada.scheduling.pool_round import PoolRound

STOP_RATE = "global scheduling rate limit exceeded"
STOP_RESOURCES = "maximum resources scheduled"


class Admission:
    def __init__(self, round_: PoolRound) -> None:
        self.r = round_
        settings = round_.c.settings
        self.limits: dict[tuple[str, str], list[int | None]] = {}
        self.limit_pairs: dict[tuple[str, str], list[tuple[int, int]]] = {}
        self.round_limit = self._round_limit()
        self.lookback = settings.max_queue_lookback
        self.burst = min(
            settings.maximum_scheduling_burst, settings.maximum_per_queue_scheduling_burst
        )

    def _limit(self, queue: str, pc: str) -> list[int | None]:
        limit = self.limits.get((queue, pc))
        if limit is None:
            klass = self.r.c.priority_class(pc)
            override = self.r.c.queues[queue].resource_limits_by_priority_class.get(pc)
            if override is not None:
                fractions = override.for_pool(self.r.pool)
            else:
                fractions = klass.maximum_resource_fraction_per_queue_by_pool.get(
                    self.r.pool, klass.maximum_resource_fraction_per_queue
                )
            limit = [
                int(fractions[name] * total) if name in fractions else None
                for name, total in zip(self.r.c.space.names, self.r.total, strict=True)
            ]
            self.limits[(queue, pc)] = limit
        return limit

    def _round_limit(self) -> dict[int, int]:
        fractions = self.r.pool_settings.maximum_resource_fraction_to_schedule
        if fractions is None:
            fractions = self.r.c.settings.maximum_resource_fraction_to_schedule
        index = self.r.c.space.index
        total = self.r.total
        return {index[r]: int(f * total[index[r]]) for r, f in fractions.items() if r in index}

    def admit(self, queue: str, cands: QueueCandidates, item: Item) -> bool:
        """Check every limit on a new item; stop or reject (with a reason) if one is hit."""
        size = len(item.jobs)
        c = self.r.c
        if (
            cands.considered_new < self.lookback
            and size <= self.burst
            and c.global_tokens >= size
            and c.queue_tokens.get(queue, 0.0) >= size
            and not item.infos[0].unknown
            and self._within_limits(queue, item)
        ):
            return True
        return self._refuse(queue, cands, item)

    def _within_limits(self, queue: str, item: Item) -> bool:
        total = item.total
        scheduled = self.r.scheduled_round
        for i, most in self.round_limit.items():
            if scheduled[i] > most:
                return False
        pc = item.infos[0].key.priority_class
        held = self.r.alloc_pc.get((queue, pc), self.r.zero)
        return all(held[i] + total[i] <= most for i, most in self._limit_pairs(queue, pc))

    def _limit_pairs(self, queue: str, pc: str) -> list[tuple[int, int]]:
        pairs = self.limit_pairs.get((queue, pc))
        if pairs is None:
            limit = self._limit(queue, pc)
            pairs = [(i, most) for i, most in enumerate(limit) if most is not None]
            self.limit_pairs[(queue, pc)] = pairs
        return pairs

    def _refuse(self, queue: str, cands: QueueCandidates, item: Item) -> bool:
        """The slow path of :meth:`_admit`: find the limit that was hit and act on it."""
        size = len(item.jobs)
        settings = self.r.c.settings
        if cands.considered_new >= settings.max_queue_lookback:
            self.r.stop_queue(queue, "queue lookback limit reached", item)
            return False
        if any(self.r.scheduled_round[i] > cap for i, cap in self.round_limit.items()):
            self.r.stop_round(STOP_RESOURCES)
            return False
        for scope, tokens, burst in (
            ("global", self.r.c.global_tokens, settings.maximum_scheduling_burst),
            (
                "queue",
                self.r.c.queue_tokens.get(queue, 0.0),
                settings.maximum_per_queue_scheduling_burst,
            ),
        ):
            if tokens < 1:
                if scope == "global":
                    self.r.stop_round(STOP_RATE)
                else:
                    self.r.stop_queue(queue, "queue scheduling rate limit exceeded", item)
                return False
            if size > burst:
                reason = (
                    f"gang cardinality too large: {size} exceeds the {scope} burst size {burst}"
                )
                self.r.reject(queue, cands, item, reason)
                return False
            if tokens < size:
                reason = (
                    f"gang would exceed the {scope} scheduling rate limit: {size} members, "
                    f"{int(tokens)} tokens left"
                )
                self.r.reject(queue, cands, item, reason)
                return False
        unknown = item.infos[0].unknown
        if unknown:
            names = ", ".join(unknown)
            self.r.reject(queue, cands, item, f"requests {names}, which no node offers")
            return False
        pc = item.infos[0].key.priority_class
        limit = self._limit(queue, pc)
        held = self.r.alloc_pc.get((queue, pc), self.r.zero)
        for i, most in enumerate(limit):
            if most is not None and held[i] + item.total[i] > most:
                name = self.r.c.space.names[i]
                reason = (
                    f"resource limit exceeded: queue {queue} may hold at most "
                    f"{name}={format_quantity(most, name)} at priority class {pc} "
                    f"in pool {self.r.pool}"
                )
                self.r.reject(queue, cands, item, reason)
                return False
        return True

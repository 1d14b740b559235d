"""Admission of a new item in a round: every limit it must pass, and what failing one means.

Rate limits (global and per queue), the round's resource cap, the per-queue cap of each
priority class, lookback and gang size are checked here, cheapest first. A fast path answers
"all clear" with a few comparisons; only a refused item pays for finding out which limit it
hit, which decides whether one job, its whole key group, its queue or the round stops.

As in Armada: the round's resource cap stops the round once what was scheduled *exceeds* it
(so the item that crosses it is still scheduled, and whether an item fits never matters);
an empty token bucket stops the round (global) or the queue, while a gang that needs more
tokens than are left is only skipped, so that smaller items after it may use them.

:meth:`Admission.admit` decides and returns a :class:`Refusal`; the filling stage acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from armada.domain.resources import format_quantity
from armada.scheduling.candidates import Item, QueueCandidates
from armada.scheduling.pool_state import Ledger, PoolContext

STOP_RATE = "global scheduling rate limit exceeded"
STOP_RESOURCES = "maximum resources scheduled"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A limit an item hit: what stops (the item only, its queue, or the round) and why."""

    stops: Literal["item", "queue", "round"]
    reason: str


class Admission:
    def __init__(self, ctx: PoolContext, ledger: Ledger) -> None:
        self.ctx = ctx
        self.ledger = ledger
        settings = ctx.cycle.settings
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
            klass = self.ctx.cycle.priority_class(pc)
            override = self.ctx.cycle.queues[queue].resource_limits_by_priority_class.get(pc)
            if override is not None:
                fractions = override.for_pool(self.ctx.pool)
            else:
                fractions = klass.maximum_resource_fraction_per_queue_by_pool.get(
                    self.ctx.pool, klass.maximum_resource_fraction_per_queue
                )
            limit = [
                int(fractions[name] * total) if name in fractions else None
                for name, total in zip(self.ctx.cycle.space.names, self.ctx.total, strict=True)
            ]
            self.limits[(queue, pc)] = limit
        return limit

    def _round_limit(self) -> dict[int, int]:
        fractions = self.ctx.pool_settings.maximum_resource_fraction_to_schedule
        if fractions is None:
            fractions = self.ctx.cycle.settings.maximum_resource_fraction_to_schedule
        index = self.ctx.cycle.space.index
        total = self.ctx.total
        return {index[r]: int(f * total[index[r]]) for r, f in fractions.items() if r in index}

    def admit(self, queue: str, cands: QueueCandidates, item: Item) -> Refusal | None:
        """Check every limit on a new item: None if it passes them all."""
        size = len(item.jobs)
        c = self.ctx.cycle
        if (
            cands.considered_new < self.lookback
            and size <= self.burst
            and c.global_tokens >= size
            and c.queue_tokens.get(queue, 0.0) >= size
            and not item.infos[0].unknown
            and self._within_limits(queue, item)
        ):
            return None
        return self._refuse(cands, item)

    def _within_limits(self, queue: str, item: Item) -> bool:
        total = item.total
        scheduled = self.ledger.scheduled_round
        for i, most in self.round_limit.items():
            if scheduled[i] > most:
                return False
        pc = item.infos[0].key.priority_class
        held = self.ledger.alloc_pc.get((queue, pc), self.ctx.zero)
        return all(held[i] + total[i] <= most for i, most in self._limit_pairs(queue, pc))

    def _limit_pairs(self, queue: str, pc: str) -> list[tuple[int, int]]:
        pairs = self.limit_pairs.get((queue, pc))
        if pairs is None:
            limit = self._limit(queue, pc)
            pairs = [(i, most) for i, most in enumerate(limit) if most is not None]
            self.limit_pairs[(queue, pc)] = pairs
        return pairs

    def _refuse(self, cands: QueueCandidates, item: Item) -> Refusal | None:
        """The slow path of :meth:`admit`: find the limit that was hit."""
        queue = cands.queue
        size = len(item.jobs)
        settings = self.ctx.cycle.settings
        if cands.considered_new >= settings.max_queue_lookback:
            return Refusal("queue", "queue lookback limit reached")
        if any(self.ledger.scheduled_round[i] > cap for i, cap in self.round_limit.items()):
            return Refusal("round", STOP_RESOURCES)
        for scope, tokens, burst in (
            ("global", self.ctx.cycle.global_tokens, settings.maximum_scheduling_burst),
            (
                "queue",
                self.ctx.cycle.queue_tokens.get(queue, 0.0),
                settings.maximum_per_queue_scheduling_burst,
            ),
        ):
            if tokens < 1:
                if scope == "global":
                    return Refusal("round", STOP_RATE)
                return Refusal("queue", "queue scheduling rate limit exceeded")
            if size > burst:
                reason = (
                    f"gang cardinality too large: {size} exceeds the {scope} burst size {burst}"
                )
                return Refusal("item", reason)
            if tokens < size:
                reason = (
                    f"gang would exceed the {scope} scheduling rate limit: {size} members, "
                    f"{int(tokens)} tokens left"
                )
                return Refusal("item", reason)
        unknown = item.infos[0].unknown
        if unknown:
            names = ", ".join(unknown)
            return Refusal("item", f"requests {names}, which no node offers")
        pc = item.infos[0].key.priority_class
        limit = self._limit(queue, pc)
        held = self.ledger.alloc_pc.get((queue, pc), self.ctx.zero)
        for i, most in enumerate(limit):
            if most is not None and held[i] + item.total[i] > most:
                name = self.ctx.cycle.space.names[i]
                reason = (
                    f"resource limit exceeded: queue {queue} may hold at most "
                    f"{name}={format_quantity(most, name)} at priority class {pc} "
                    f"in pool {self.ctx.pool}"
                )
                return Refusal("item", reason)
        return None

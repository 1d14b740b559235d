"""Dominant resource fairness: what a queue's allocation costs, and what share it is owed.

A queue's cost is the largest fraction of the pool it holds over the resources considered
(Armada's ``dominantResourceFairnessResourcesToConsider``). Its weight is
``1 / priority_factor``; only queues active in the pool (running jobs there, or queued jobs
that may run there) share it.
The fair share is ``weight / sum(weights)``; the demand-capped adjusted fair share hands the
share a queue cannot use (its demand is smaller) to the others, by weight, until every queue is
either satisfied or at its share (water-filling).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DrfCost:
    """Cost of a resource vector (plain ints, in the resource space's order) in one pool."""

    def __init__(self, total: Sequence[int], considered: Sequence[int]) -> None:
        self.terms = [(i, 1.0 / total[i]) for i in considered if total[i] > 0]

    def __call__(self, alloc: Sequence[int]) -> float:
        return max((alloc[i] * inv for i, inv in self.terms), default=0.0)

    def with_extra(self, alloc: Sequence[int], extra: Sequence[int]) -> float:
        best = 0.0
        for i, inv in self.terms:
            cost = (alloc[i] + extra[i]) * inv
            best = max(best, cost)
        return best


def fair_shares(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {q: (w / total if total > 0 else 0.0) for q, w in weights.items()}


def demand_capped_shares(
    weights: Mapping[str, float], demand: Mapping[str, float]
) -> dict[str, float]:
    """Water-filling: each queue gets min(its demand, its weighted part of what is left)."""
    shares = dict.fromkeys(weights, 0.0)
    open_queues = {q for q, w in weights.items() if w > 0}
    remaining = 1.0
    while open_queues and remaining > 1e-12:
        total = sum(weights[q] for q in open_queues)
        offers = {q: remaining * weights[q] / total for q in open_queues}
        satisfied = {q for q in open_queues if demand.get(q, 0.0) - shares[q] <= offers[q]}
        if not satisfied:
            for q in open_queues:
                shares[q] += offers[q]
            break
        for q in sorted(satisfied):
            given = max(0.0, demand.get(q, 0.0) - shares[q])
            shares[q] += given
            remaining -= given
        open_queues -= satisfied
    return shares

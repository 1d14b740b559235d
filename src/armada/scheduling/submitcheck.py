"""The submit check: could this job (or whole gang) ever run here, if the cluster were empty?

A job that no node could ever hold would wait forever; the scheduler rejects it instead (event
``JobRejected``), saying which node came closest and which resource it lacks. Jobs that pass
learn the pools where they can run (event ``JobValidated``). Current usage, cordons and
unschedulable flags are ignored: they pass. Answers are cached by scheduling key, so a million
identical submissions cost one check; build a new checker when the node inventory changes.
The cache holds at most ``max_cached_shapes`` answers and starts afresh when full, so a
workload where every job has its own shape does not make it grow for ever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from armada.config.scheduling import SchedulingSettings
from armada.domain.jobs import Gang, SchedulingRequirements
from armada.domain.resources import format_quantity
from armada.scheduling.keys import KeyTable, SchedulingKey
from armada.scheduling.nodedb import PoolNodeDb
from armada.scheduling.nodes import Node
from armada.scheduling.resources import ResourceSpace, Vector


@dataclass(frozen=True, slots=True)
class SubmitCheckResult:
    """Pools where the job can run; when there are none, ``reason`` says why."""

    pools: tuple[str, ...]
    reason: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.pools)


class SubmitChecker:
    def __init__(
        self,
        nodes: Sequence[Node],
        settings: SchedulingSettings,
        *,
        max_cached_shapes: int = 10_000,
    ) -> None:
        self.max_cached_shapes = max_cached_shapes
        self._priorities = {n: pc.priority for n, pc in settings.domain_priority_classes().items()}
        self.space = ResourceSpace.from_settings(settings.indexed_resources)
        self.keys = KeyTable(self._priorities, 0)
        by_pool: dict[str, list[Node]] = {}
        for node in nodes:
            by_pool.setdefault(node.pool, []).append(node)
        self.pools = {
            pool: PoolNodeDb(pool, members, self.space, [0], ignore_unschedulable=True)
            for pool, members in sorted(by_pool.items())
        }
        self._cache: dict[tuple[object, ...], SubmitCheckResult] = {}

    def check_submittable(
        self, requirements: SchedulingRequirements, gang: Gang | None = None
    ) -> SubmitCheckResult:
        """Whether a job with these requirements (in this gang) fits some pool when empty."""
        cardinality = gang.cardinality if gang is not None else 1
        label = gang.node_uniformity_label if gang is not None else ""
        cache_key = (requirements.key(), cardinality, label)
        found = self._cache.get(cache_key)
        if found is None:
            if len(self._cache) >= self.max_cached_shapes:
                self._forget_shapes()
            found = self._cache[cache_key] = self._check(
                self.keys.intern(requirements), cardinality, label
            )
        return found

    def _forget_shapes(self) -> None:
        """Drop every cached answer, interned key and per-key node match: start afresh."""
        self._cache.clear()
        self.keys = KeyTable(self._priorities, 0)
        for db in self.pools.values():
            db.forget_matches()

    def _check(self, key: SchedulingKey, cardinality: int, label: str) -> SubmitCheckResult:
        request, unknown = self.space.request(key.requirements.resources)
        if unknown:
            return SubmitCheckResult((), f"requests {', '.join(unknown)}, which no node offers")
        if not self.pools:
            return SubmitCheckResult((), "there are no nodes in any pool")
        fits = tuple(
            pool
            for pool, db in self.pools.items()
            if _copies(db, key, request, label) >= cardinality
        )
        if fits:
            return SubmitCheckResult(fits)
        return SubmitCheckResult((), self._reason(key, request, cardinality))

    def _reason(self, key: SchedulingKey, request: Vector, cardinality: int) -> str:
        best: tuple[float, str, str, str] | None = None
        for pool, db in self.pools.items():
            idx = db.matching(key)
            if len(idx) == 0:
                continue
            caps = db.capacity[idx]
            wanted = np.maximum(request, 1)
            ratio = np.where(request > 0, caps / wanted, np.inf).min(axis=1)
            i = int(np.argmax(ratio))
            closest = db.nodes[int(idx[i])]
            lacking = ", ".join(
                self._has(closest, r, int(caps[i, r]))
                for r in range(len(self.space.names))
                if caps[i, r] < request[r]
            )
            candidate = (float(ratio[i]), pool, closest.name, lacking)
            if best is None or candidate[0] > best[0]:
                best = candidate
        if best is None:
            explanations = [db.explain_no_match(key) for db in self.pools.values()]
            return "no node matches the job's constraints: " + "; ".join(explanations)
        ratio, pool, node, short = best
        wants = self.space.describe(request)
        if ratio >= 1:
            return (
                f"the gang of {cardinality} members ({wants} each) can never fit at once; "
                f"the closest pool is {pool}"
            )
        return (
            f"job requests {wants}, more than any node can ever offer: the largest matching "
            f"node, {node} in pool {pool}, has only {short}"
        )

    def _has(self, node: Node, r: int, capacity: int) -> str:
        """``memory=262100Mi``, saying so when the resolution rounded the node's offer down
        (a 256Gi node is 262100Mi at memory's 100Mi: a job asking 256Gi cannot fit it)."""
        name = self.space.names[r]
        text = f"{name}={format_quantity(capacity, name)}"
        offered = node.allocatable.get(name, 0) - node.non_armada_allocated.get(name, 0)
        if offered > capacity:
            resolution = format_quantity(int(self.space.resolution[r]), name)
            text += (
                f" ({format_quantity(offered, name)} rounded down to indexedResources' "
                f"{resolution} resolution)"
            )
        return text


def _copies(db: PoolNodeDb, key: SchedulingKey, request: Vector, label: str) -> int:
    """How many copies of the request fit on the matching nodes of one pool (one label value)."""
    idx = db.matching(key)
    if len(idx) == 0:
        return 0
    caps = db.capacity[idx]
    positive = request > 0
    if not positive.any():
        per_node = np.full(len(idx), 1 << 30, dtype=np.int64)
    else:
        per_node = (caps[:, positive] // request[positive]).min(axis=1)
    if not label:
        return int(per_node.sum())
    codes = db.column(label).codes[idx]
    if not (codes >= 0).any():
        return 0
    return int(np.bincount(codes[codes >= 0], weights=per_node[codes >= 0]).max())

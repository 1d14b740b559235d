"""One pool's nodes as arrays: where does a job fit, and what would it have to displace?

For every node the database keeps what is allocatable *at each priority* (Armada's
priority-aware allocation). Row 0 of ``avail`` is what is truly free, counting the claims of
jobs evicted this round; row ``j >= 1`` is capacity minus the jobs still bound to the node whose
priority is at least ``levels[j-1]``. So a job at priority ``p`` fits on a node

1. without disturbing anyone if row 0 has room,
2. by taking the place of evicted jobs if row 1 has room: then, as in Armada's fair-share
   preemption, evicted jobs of no higher priority are walked from the end of the order in
   which they would come back (the jobs least entitled to return first), and the node where
   enough of them are gathered first is taken; they give it their claims (``yielded``),
3. by urgency-preempting lower-priority jobs if row ``j`` has room, ``levels[j-1] <= p``.

Each check is one vectorised comparison over the pool. Best fit is the fitting node with the
least of the first indexed resource left. A per-key memo remembers the node chosen last time and
stays valid while only that node has lost room since, which makes placing thousands of twins
cost one scalar check each while giving exactly the answer of the full search.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import ge, gt

import numpy as np
import numpy.typing as npt

from armada.domain.jobs import NodeSelectorRequirement, SchedulingRequirements, Taint
from armada.domain.resources import format_quantity
from armada.scheduling.keys import SchedulingKey
from armada.scheduling.nodes import Node, describe_taint, expression_matches, untolerated_taint
from armada.scheduling.resources import ResourceSpace, Vector

Mask = npt.NDArray[np.bool_]
# Finds the node where a new job takes the place of evicted jobs (see evictions.EvictedOrder):
# (matching node indices, request, priority) -> (node, evicted job ids giving way) or None.
EvictedRoom = Callable[[npt.NDArray[np.intp], Vector, int], tuple[int, tuple[str, ...]] | None]

# The priority a job of a class that is not preemptible holds its node at: above every level,
# so it counts in every row of ``avail`` and is never a victim of urgency preemption (Armada's
# node database does the same).
NOT_PREEMPTIBLE = 2**31 - 1


@dataclass(slots=True)
class Placement:
    """A job holding resources on a node in this round."""

    job_id: str
    queue: str
    node: int
    request: Vector
    priority: int
    level: int  # rows 1..level of avail include this job


@dataclass(frozen=True, slots=True)
class Choice:
    node: int
    row: int  # 0: free, 1: displaces evicted jobs, >= 2: urgency preemption
    yielding: tuple[str, ...] = ()  # row 1: the evicted jobs whose claims it takes


class _LabelColumn:
    def __init__(self, nodes: Sequence[Node], label: str) -> None:
        self.vocab: dict[str, int] = {}
        codes = np.full(len(nodes), -1, dtype=np.int32)
        for i, node in enumerate(nodes):
            value = node.labels.get(label)
            if value is not None:
                codes[i] = self.vocab.setdefault(value, len(self.vocab))
        self.codes = codes
        self.values = list(self.vocab)


class PoolNodeDb:
    def __init__(
        self,
        pool: str,
        nodes: Sequence[Node],
        space: ResourceSpace,
        priorities: Sequence[int],
        cordoned_executors: frozenset[str] = frozenset(),
        *,
        ignore_unschedulable: bool = False,
    ) -> None:
        self.pool = pool
        self.space = space
        self.nodes = sorted(nodes, key=lambda n: n.ref)
        self.index = {n.ref: i for i, n in enumerate(self.nodes)}
        self.levels = sorted(set(priorities))
        n, r = len(self.nodes), len(space)
        self.capacity = np.zeros((n, r), dtype=np.int64)
        for i, node in enumerate(self.nodes):
            self.capacity[i] = space.capacity(node.allocatable, node.non_armada_allocated)
        self.avail = np.repeat(self.capacity[None, :, :], len(self.levels) + 1, axis=0)
        self.schedulable: Mask = np.array(
            [
                ignore_unschedulable
                or (not x.unschedulable and x.executor not in cordoned_executors)
                for x in self.nodes
            ],
            dtype=np.bool_,
        )
        self.bound: list[dict[str, Placement]] = [{} for _ in range(n)]
        self.placed: dict[str, Placement] = {}
        self.evicted: dict[str, Placement] = {}
        self.yielded: dict[str, str] = {}  # evicted job -> the new job that took its claim
        self._takers: dict[str, tuple[str, ...]] = {}  # new job -> the evicted jobs it took from
        self._columns: dict[str, _LabelColumn] = {}
        self._taint_groups: list[tuple[Taint, ...]] = []
        group_ids: dict[tuple[Taint, ...], int] = {}
        self._taint_group_of = np.zeros(n, dtype=np.int32)
        for i, node in enumerate(self.nodes):
            gid = group_ids.setdefault(node.taints, len(group_ids))
            if gid == len(self._taint_groups):
                self._taint_groups.append(node.taints)
            self._taint_group_of[i] = gid
        self._static: dict[int, npt.NDArray[np.intp]] = {}
        self._memo: dict[tuple[int, int], tuple[int, int]] = {}
        self._version = 0
        self._streak_node = -1
        self._streak_start = 0
        self._last_increase = 0

    # -- bookkeeping ----------------------------------------------------------------------
    def total(self) -> Vector:
        return np.asarray(self.capacity.sum(axis=0), dtype=np.int64)

    def offered(self) -> dict[str, int]:
        """The indexed resources the nodes offer Armada, not rounded to the resolutions."""
        total = dict.fromkeys(self.space.names, 0)
        for node in self.nodes:
            for name in self.space.names:
                free = node.allocatable.get(name, 0) - node.non_armada_allocated.get(name, 0)
                total[name] += max(0, free)
        return {name: value for name, value in total.items() if value}

    def level_of(self, priority: int) -> int:
        return bisect_right(self.levels, priority)

    def _decreased(self, node: int) -> None:
        if self._streak_node != node:
            self._streak_node = node
            self._streak_start = self._version
        self._version += 1

    def _increased(self) -> None:
        self._version += 1
        self._last_increase = self._version
        self._streak_node = -1

    def bind(self, job_id: str, queue: str, node: int, request: Vector, priority: int) -> Placement:
        """Put a job on a node (counts in every row up to its priority)."""
        level = self.level_of(priority)
        self.avail[0 : level + 1, node] -= request
        placement = Placement(job_id, queue, node, request, priority, level)
        self.bound[node][job_id] = placement
        self.placed[job_id] = placement
        self._decreased(node)
        return placement

    def bind_many(self, entries: Sequence[tuple[str, str, int, Vector, int]]) -> None:
        """:meth:`bind` for many jobs at once (the running jobs at the start of a round)."""
        if not entries:
            return
        nodes = np.fromiter((e[2] for e in entries), dtype=np.intp, count=len(entries))
        levels = np.fromiter(
            (self.level_of(e[4]) for e in entries), dtype=np.intp, count=len(entries)
        )
        requests = np.stack([e[3] for e in entries])
        for row in range(len(self.levels) + 1):
            mask = levels >= row
            np.subtract.at(self.avail[row], nodes[mask], requests[mask])
        bound, placed = self.bound, self.placed
        for (job_id, queue, node, request, priority), level in zip(
            entries, levels.tolist(), strict=True
        ):
            p = Placement(job_id, queue, node, request, priority, level)
            bound[node][job_id] = p
            placed[job_id] = p
        self._increased()

    def evict_many(self, job_ids: Sequence[str]) -> None:
        """:meth:`evict` for many jobs at once."""
        if not job_ids:
            return
        chosen = [self.placed.pop(job_id) for job_id in job_ids]
        for p in chosen:
            del self.bound[p.node][p.job_id]
            self.evicted[p.job_id] = p
        nodes = np.fromiter((p.node for p in chosen), dtype=np.intp, count=len(chosen))
        levels = np.fromiter((p.level for p in chosen), dtype=np.intp, count=len(chosen))
        requests = np.stack([p.request for p in chosen])
        for row in range(1, len(self.levels) + 1):
            mask = levels >= row
            np.add.at(self.avail[row], nodes[mask], requests[mask])
        self._increased()

    def unbind(self, job_id: str) -> Placement:
        """Take a bound job off its node (preemption, or undoing a trial placement)."""
        p = self.placed.pop(job_id)
        del self.bound[p.node][job_id]
        self.avail[0 : p.level + 1, p.node] += p.request
        self._increased()
        return p

    def evict(self, job_id: str) -> Placement:
        """Unbind a running job but keep its claim on row 0: it may come back this round."""
        p = self.placed.pop(job_id)
        del self.bound[p.node][job_id]
        self.avail[1 : p.level + 1, p.node] += p.request
        self.evicted[job_id] = p
        self._increased()
        return p

    def restore(self, job_id: str) -> bool:
        """Put an evicted job back on its own node if the bound jobs leave it room."""
        p = self.evicted[job_id]
        if job_id in self.yielded or not all(
            map(ge, self.avail[1, p.node].tolist(), p.request.tolist())
        ):
            return False
        del self.evicted[job_id]
        self.avail[1 : p.level + 1, p.node] -= p.request
        self.bound[p.node][job_id] = p
        self.placed[job_id] = p
        self._decreased(p.node)
        return True

    def unrestore(self, job_id: str) -> None:
        """Undo :meth:`restore` (a gang that did not come back whole)."""
        p = self.placed.pop(job_id)
        del self.bound[p.node][job_id]
        self.avail[1 : p.level + 1, p.node] += p.request
        self.evicted[job_id] = p
        self._increased()

    def take_claims(self, taker: str, choice: Choice, request: Vector) -> None:
        """Evicted jobs give their claims on ``choice.node`` to ``taker``, a new job about to be
        bound there for ``request``; they stay evicted, and can no longer come back."""
        evicted, yielded, ids = self.evicted, self.yielded, choice.yielding
        freed = evicted[ids[0]].request
        yielded[ids[0]] = taker
        for job_id in ids[1:]:
            freed = freed + evicted[job_id].request
            yielded[job_id] = taker
        self._takers[taker] = ids
        self.avail[0, choice.node] += freed
        # Jobs of one shape share their request vector: then the node gains nothing.
        if freed is not request and any(map(gt, freed.tolist(), request.tolist())):
            self._increased()  # the node has more room than before, once the taker is bound

    def give_back_claims(self, taker: str) -> None:
        """Undo :meth:`take_claims` (the taker's lease was undone, or a gang trial failed)."""
        for job_id in self._takers.pop(taker, ()):
            del self.yielded[job_id]
            p = self.evicted[job_id]
            self.avail[0, p.node] -= p.request
            self._decreased(p.node)

    # -- static matching ------------------------------------------------------------------
    def column(self, label: str) -> _LabelColumn:
        col = self._columns.get(label)
        if col is None:
            col = self._columns[label] = _LabelColumn(self.nodes, label)
        return col

    def _expression_mask(self, expr: NodeSelectorRequirement) -> Mask:
        col = self.column(expr.key)
        op = expr.operator
        if op in ("In", "NotIn"):
            wanted = [col.vocab[v] for v in expr.values if v in col.vocab]
            inside = np.isin(col.codes, wanted)
            return inside if op == "In" else ~inside
        if op == "Exists":
            return col.codes >= 0
        if op == "DoesNotExist":
            return col.codes < 0
        ok = [expression_matches(expr, {expr.key: v}) for v in col.values]
        return np.array([*ok, False], dtype=np.bool_)[col.codes]

    def _affinity_mask(self, req: SchedulingRequirements) -> Mask:
        n = len(self.nodes)
        if not req.node_affinity:
            return np.ones(n, dtype=np.bool_)
        result = np.zeros(n, dtype=np.bool_)
        for term in req.node_affinity:
            term_mask = np.ones(n, dtype=np.bool_) if term.match_expressions else result & False
            for expr in term.match_expressions:
                term_mask &= self._expression_mask(expr)
            result |= term_mask
        return result

    def _selector_mask(self, req: SchedulingRequirements) -> Mask:
        mask = np.ones(len(self.nodes), dtype=np.bool_)
        for label, value in req.node_selector.items():
            col = self.column(label)
            mask &= col.codes == col.vocab.get(value, -2)
        return mask

    def _taint_mask(self, req: SchedulingRequirements) -> Mask:
        ok = [untolerated_taint(req.tolerations, g) is None for g in self._taint_groups]
        return np.array(ok, dtype=np.bool_)[self._taint_group_of]

    def matching(self, key: SchedulingKey) -> npt.NDArray[np.intp]:
        """Indices of schedulable nodes whose labels and taints admit the key (cached)."""
        idx = self._static.get(key.id)
        if idx is None:
            req = key.requirements
            mask = self.schedulable & self._selector_mask(req) & self._taint_mask(req)
            mask &= self._affinity_mask(req)
            idx = self._static[key.id] = np.flatnonzero(mask)
        return idx

    def forget_matches(self) -> None:
        """Drop the per-key caches (a long-lived database seeing ever new keys)."""
        self._static.clear()
        self._memo.clear()

    # -- choosing a node ------------------------------------------------------------------
    def _best(self, row: int, idx: npt.NDArray[np.intp], request: Vector) -> int:
        sub = self.avail[row][idx]
        ok = np.all(sub >= request, axis=1)
        if not ok.any():
            return -1
        fitting = sub[ok]
        return int(idx[ok][int(np.argmin(fitting[:, 0]))])

    def _memo_row(self, key_id: int, row: int, idx: npt.NDArray[np.intp], request: Vector) -> int:
        """Best fit on ``row``, reusing last time's answer when it is provably unchanged."""
        memo = self._memo.get((key_id, row))
        if memo is not None:
            node, at = memo
            if node < 0:
                if self._last_increase <= at:
                    return -1
            elif (
                at == self._version or (self._streak_node == node and at >= self._streak_start)
            ) and all(map(ge, self.avail[row, node].tolist(), request.tolist())):
                self._memo[(key_id, row)] = (node, self._version)
                return node
        node = self._best(row, idx, request)
        self._memo[(key_id, row)] = (node, self._version)
        return node

    def select(
        self,
        key: SchedulingKey,
        request: Vector,
        priority: int,
        *,
        restrict: Mask | None = None,
        urgency: bool = True,
        evicted_room: EvictedRoom | None = None,
    ) -> Choice | None:
        """The node for a new job, and which row (how much disturbance) it needs. With
        ``evicted_room``, row 1 (room once evicted jobs are left out) only says whether to
        look; ``evicted_room`` picks the node and the evicted jobs that give way."""
        idx = self.matching(key)
        if restrict is not None:
            idx = idx[restrict[idx]]
        if len(idx) == 0:
            return None
        last_row = self.level_of(priority) if urgency else 1
        for row in range(min(last_row, len(self.levels)) + 1):
            if row == 1 and evicted_room is not None:
                found = self._walk(
                    key.id,
                    idx,
                    request,
                    priority=priority,
                    evicted_room=evicted_room,
                    restrict=restrict,
                )
                if found is not None:
                    return found
                continue
            if restrict is None:
                node = self._memo_row(key.id, row, idx, request)
            else:
                node = self._best(row, idx, request)
            if node >= 0:
                return Choice(node, row)
        return None

    def _walk(
        self,
        key_id: int,
        idx: npt.NDArray[np.intp],
        request: Vector,
        *,
        priority: int,
        evicted_room: EvictedRoom,
        restrict: Mask | None,
    ) -> Choice | None:
        """Row 1 by ``evicted_room``. A walk that found nothing is remembered for the key
        until some node gains room (evicted jobs that may be walked again come with an
        unbind), so twins do not walk again."""
        memo_key = (key_id, -1)
        if restrict is None:
            memo = self._memo.get(memo_key)
            if memo is not None and self._last_increase <= memo[1]:
                return None
        found = evicted_room(idx, request, priority)
        if found is None:
            if restrict is None:
                self._memo[memo_key] = (-1, self._version)
            return None
        return Choice(found[0], 1, found[1])

    def victims(
        self, choice: Choice, request: Vector, rank: Callable[[Placement], tuple[object, ...]]
    ) -> list[Placement]:
        """Bound jobs to preempt on ``choice.node`` so that ``request`` fits (row >= 2)."""
        limit = self.levels[choice.row - 1]
        candidates = sorted(
            (p for p in self.bound[choice.node].values() if p.priority < limit), key=rank
        )
        short = request - self.avail[1, choice.node]
        chosen: list[Placement] = []
        for p in candidates:
            if not bool(np.any(short > 0)):
                break
            chosen.append(p)
            short = short - p.request
        return chosen

    # -- explaining -----------------------------------------------------------------------
    def explain_no_match(self, key: SchedulingKey) -> str:
        req = key.requirements
        n = len(self.nodes)
        if n == 0:
            return f"pool {self.pool} has no nodes"
        parts: list[str] = []
        unschedulable = int(n - self.schedulable.sum())
        if unschedulable:
            parts.append(f"{unschedulable} unschedulable or cordoned")
        for label, value in req.node_selector.items():
            misses = int(
                n - (self.column(label).codes == self.column(label).vocab.get(value, -2)).sum()
            )
            if misses:
                parts.append(f"{misses} without label {label}={value}")
        taints = self._taint_mask(req)
        if not taints.all():
            example = next(
                t
                for g in self._taint_groups
                if (t := untolerated_taint(req.tolerations, g)) is not None
            )
            parts.append(
                f"{int(n - taints.sum())} with untolerated taints (e.g. {describe_taint(example)})"
            )
        affinity = self._affinity_mask(req)
        if not affinity.all():
            parts.append(f"{int(n - affinity.sum())} outside its required node affinity")
        return f"no node of pool {self.pool} matches ({n} nodes: " + "; ".join(parts) + ")"

    def explain_no_fit(self, key: SchedulingKey, request: Vector, priority: int) -> str:
        idx = self.matching(key)
        if len(idx) == 0:
            return self.explain_no_match(key)
        row = max(1, min(self.level_of(priority), len(self.levels)))
        sub = self.avail[row][idx]
        lacking = (sub < request).sum(axis=0)
        worst = int(np.argmax(lacking))
        name = self.space.names[worst]
        best = int(np.argmax(sub[:, worst]))
        have = format_quantity(int(sub[best, worst]), name)
        return (
            f"job does not fit on any node: it needs {self.space.describe(request)}; "
            f"{int(lacking[worst])} of {len(idx)} matching nodes lack {name} "
            f"(most available: {name}={have} on node {self.nodes[int(idx[best])].name})"
        )

"""What the scheduler knows about each executor: its nodes, its runs, when it was last heard.

Updated from every LeaseRequest (the executor's heartbeat). Silence is measured on a monotonic
clock (the service's ``monotonic``): a wall clock stepped forward, or a laptop's suspend, is not
an executor's silence. The scheduler schedules only onto
executors heard from recently (``executorStaleAfter``), checks submissions against the last
known nodes of every executor not timed out, and expires the leases of executors silent for
longer than ``executorTimeout``.

The registry lives in memory only. After a start the scheduler puts back every executor that
holds runs in the job database (:meth:`ExecutorRegistry.restore`), as if heard from at the
start and with no nodes known yet: one that never comes back then times out like any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from armada.domain.jobs import Taint
from armada.domain.resources import InvalidQuantity, parse_quantity
from armada.rpc.gen import executorapi_pb2 as pb
from armada.scheduling import Node

log = logging.getLogger(__name__)


@dataclass
class ExecutorState:
    executor_id: str
    pool: str
    last_seen: float  # on the service's monotonic clock: wall-clock jumps are not silence
    nodes: list[Node] = field(default_factory=list)
    node_names: frozenset[str] = frozenset()  # of ``nodes``
    active_run_ids: frozenset[str] = frozenset()
    max_jobs_to_lease: int = 0
    acknowledged: set[str] = field(default_factory=set)
    sent: dict[str, tuple[int, float]] = field(default_factory=dict)  # run -> (stream, when)
    stream: int = 0  # the lease stream the executor last spoke on
    missing_since: dict[str, float] = field(default_factory=dict)
    deaf_at_seen: float = 0.0  # the registry's deaf time when last_seen was set


def _quantities(executor: str, node: str, values: object) -> dict[str, int]:
    parsed: dict[str, int] = {}
    for name, text in values.items():  # type: ignore[attr-defined]
        try:
            parsed[name] = parse_quantity(text)
        except InvalidQuantity:
            log.warning("executor %s node %s: ignoring resource %s=%r", executor, node, name, text)
    return parsed


def node_from_proto(executor: str, pool: str, info: pb.NodeInfo) -> Node:
    return Node(
        executor=executor,
        name=info.name,
        pool=info.pool or pool,
        allocatable=_quantities(executor, info.name, info.total_resources),
        non_armada_allocated=_quantities(executor, info.name, info.non_armada_allocated_resources),
        labels=dict(info.labels),
        taints=tuple(
            Taint(key=t.key, value=t.value, effect=t.effect or "NoSchedule") for t in info.taints
        ),
        unschedulable=info.unschedulable,
    )


# The loop that hears executors must have shown itself this recently for silence to be judged.
LOOP_SEEN_WITHIN = 1.0


class ExecutorRegistry:
    def __init__(self) -> None:
        self._executors: dict[str, ExecutorState] = {}
        # Executors resend their whole inventory every heartbeat; parse each node once.
        self._parsed: dict[tuple[str, str, bytes], Node] = {}
        # The asyncio loop that receives LeaseRequests, as its watch reports it (None: no
        # watch, e.g. in tests driving the service directly): when it was last seen running,
        # and how long in all it was held (by blocking calls), hearing nobody.
        self._loop_seen: float | None = None
        self._deaf = 0.0

    def _node(self, executor: str, pool: str, info: pb.NodeInfo) -> Node:
        info.ClearField("run_ids")  # unused here, and it changes with every pod
        key = (executor, pool, info.SerializeToString(deterministic=True))
        node = self._parsed.get(key)
        if node is None:
            if len(self._parsed) > 200_000:
                self._parsed.clear()
            node = self._parsed[key] = node_from_proto(executor, pool, info)
        return node

    def heartbeat(self, request: pb.LeaseRequest, now: float, stream: int = 0) -> ExecutorState:
        """Record a LeaseRequest; return the executor's state."""
        state = self._executors.get(request.executor_id)
        if state is None:
            state = ExecutorState(executor_id=request.executor_id, pool=request.pool, last_seen=now)
            self._executors[request.executor_id] = state
            log.info("executor %s (pool %s) connected", request.executor_id, request.pool)
        state.pool = request.pool
        state.last_seen, state.deaf_at_seen = now, self._deaf
        state.stream = stream
        state.nodes = [self._node(request.executor_id, request.pool, n) for n in request.nodes]
        state.node_names = frozenset(node.name for node in state.nodes)
        state.active_run_ids = frozenset(request.active_run_ids)
        state.acknowledged.update(request.active_run_ids)
        state.max_jobs_to_lease = request.max_jobs_to_lease
        return state

    def heard(self, executor_id: str, now: float) -> None:
        """A LeaseRequest from the executor arrived ``now``. Called where requests are
        received (the asyncio loop), not where they are answered (the scheduler's worker
        thread): work that holds the worker (a round, an append waiting for the store's write
        lock) must not make a live executor look silent. Safe from another thread: it only
        moves a known executor's ``last_seen`` forward."""
        state = self._executors.get(executor_id)
        if state is not None and now > state.last_seen:
            state.last_seen, state.deaf_at_seen = now, self._deaf

    def get(self, executor_id: str) -> ExecutorState | None:
        return self._executors.get(executor_id)

    def all(self) -> list[ExecutorState]:
        return list(self._executors.values())

    def restore(self, executor_id: str, now: float) -> bool:
        """Know an executor that holds runs but has not been heard from since the start, as if
        heard from ``now``; False if it is known already."""
        if executor_id in self._executors:
            return False
        self._executors[executor_id] = ExecutorState(
            executor_id=executor_id, pool="", last_seen=now, deaf_at_seen=self._deaf
        )
        return True

    def live_nodes(self, now: float, within: float) -> list[Node]:
        """Nodes of executors heard from within ``within`` seconds (their last report)."""
        return [
            node
            for state in self._executors.values()
            if self.silence(state, now) <= within
            for node in state.nodes
        ]

    def loop_seen(self, now: float, *, held_for: float = 0.0) -> None:
        """The loop that hears executors runs at ``now``, after being held (by a blocking
        call) for ``held_for`` seconds, in which it heard nobody: that is not their silence."""
        self._deaf += held_for
        self._loop_seen = now

    def silence(self, state: ExecutorState, now: float) -> float:
        """How long the executor has been silent while the scheduler could hear it."""
        return now - state.last_seen - (self._deaf - state.deaf_at_seen)

    def timed_out(self, now: float, timeout: float) -> list[ExecutorState]:
        """Executors silent for over ``timeout`` while the scheduler could hear them; none
        while the loop that hears them is held (it has not said it runs for a while)."""
        if self._loop_seen is not None and now - self._loop_seen > LOOP_SEEN_WITHIN:
            return []
        return [s for s in self._executors.values() if self.silence(s, now) > timeout]

    def forget(self, executor_id: str) -> None:
        self._executors.pop(executor_id, None)

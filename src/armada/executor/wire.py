"""Protobuf at the edge, the executor's side: its inventory goes out as a ``LeaseRequest``.

Leases and run events are converted by the executor API's one codec,
:mod:`armada.rpc.executor_codec` (shared with the scheduler), re-exported here for the
executor's modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from armada.executor.model import NodeView
from armada.rpc.executor_codec import (
    lease_from_proto,
    lease_to_proto,
    run_event_from_proto,
    run_event_to_proto,
)
from armada.rpc.gen import executorapi_pb2 as pb

__all__ = [
    "NodeInfoCache",
    "lease_from_proto",
    "lease_request",
    "lease_to_proto",
    "node_to_proto",
    "run_event_from_proto",
    "run_event_to_proto",
]


def node_to_proto(node: NodeView, run_ids: Sequence[str]) -> pb.NodeInfo:
    return pb.NodeInfo(
        name=node.name,
        taints=[pb.Taint(key=t.key, value=t.value, effect=t.effect) for t in node.taints],
        labels=dict(node.labels),
        total_resources=dict(node.allocatable),
        non_armada_allocated_resources=dict(node.non_armada_allocated),
        unschedulable=node.unschedulable,
        run_ids=list(run_ids),
    )


class NodeInfoCache:
    """Keeps each node's NodeInfo between lease requests: rebuilt only when the node's view
    or its runs change (a 500-node inventory goes out several times a second)."""

    def __init__(self) -> None:
        self._infos: dict[str, tuple[NodeView, tuple[str, ...], pb.NodeInfo]] = {}

    def info(
        self, node: NodeView, runs: Sequence[str], pool: str, node_pool_label: str
    ) -> pb.NodeInfo:
        key = tuple(runs)
        cached = self._infos.get(node.name)
        if cached is not None and cached[0] is node and cached[1] == key:
            return cached[2]
        info = node_to_proto(node, key)
        node_pool = node.labels.get(node_pool_label, "") if node_pool_label else ""
        if node_pool and node_pool != pool:
            info.pool = node_pool
        self._infos[node.name] = (node, key, info)
        return info


def lease_request(
    *,
    executor_id: str,
    pool: str,
    nodes: Iterable[NodeView],
    runs_by_node: Mapping[str, Sequence[str]],
    max_jobs_to_lease: int,
    active_run_ids: Iterable[str],
    unassigned_run_ids: Iterable[str],
    node_pool_label: str = "",
    cache: NodeInfoCache | None = None,
) -> pb.LeaseRequest:
    cache = cache or NodeInfoCache()
    infos = [
        cache.info(node, runs_by_node.get(node.name, ()), pool, node_pool_label) for node in nodes
    ]
    return pb.LeaseRequest(
        executor_id=executor_id,
        pool=pool,
        nodes=infos,
        max_jobs_to_lease=max_jobs_to_lease,
        active_run_ids=list(active_run_ids),
        unassigned_run_ids=list(unassigned_run_ids),
    )

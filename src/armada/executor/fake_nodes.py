"""The fake backend's nodes: their room, their taints, and where kube-scheduler binds a pod.

A pod binds to the node it is pinned to (nodeSelector on the node-id label, or ``nodeName``)
if that node exists, is schedulable, tolerates-wise admits it and has room; an unpinned pod to
the first such node. Otherwise it stays Pending, with kube-scheduler's message saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from armada.config.executor import FakeClusterSettings
from armada.domain.resources import parse_resource_list
from armada.executor.model import NodeTaint, NodeView


@dataclass(slots=True)
class FakeNode:
    """A simulated node: what it offers, what others hold of it, what its pods use."""

    view: NodeView
    allocatable: dict[str, int]
    reserved: dict[str, int]
    used: dict[str, int] = field(default_factory=dict)

    def fits(self, requests: dict[str, int]) -> bool:
        return all(
            amount
            <= self.allocatable.get(name, 0) - self.reserved.get(name, 0) - self.used.get(name, 0)
            for name, amount in requests.items()
            if amount > 0
        )

    def take(self, requests: dict[str, int], sign: int) -> None:
        for name, amount in requests.items():
            self.used[name] = self.used.get(name, 0) + sign * amount


def tolerates(tolerations: list[dict[str, Any]], taint: NodeTaint) -> bool:
    """Whether a pod with ``tolerations`` may bind to a node with ``taint``."""
    if taint.effect == "PreferNoSchedule":
        return True
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.effect:
            continue
        if t.get("operator") == "Exists" and t.get("key", "") in ("", taint.key):
            return True
        if t.get("key") == taint.key and t.get("value", "") == taint.value:
            return True
    return False


def build_nodes(settings: FakeClusterSettings, node_id_label: str) -> dict[str, FakeNode]:
    """The nodes of every node group, by name (``<group>-<index>``)."""
    nodes: dict[str, FakeNode] = {}
    for group in settings.node_groups:
        allocatable = parse_resource_list(group.resources)
        reserved = parse_resource_list(group.non_armada_allocated)
        for index in range(group.count):
            node_name = f"{group.name}-{index}"
            view = NodeView(
                name=node_name,
                labels={**group.labels, node_id_label: node_name},
                taints=tuple(
                    NodeTaint(key=t.key, value=t.value, effect=t.effect) for t in group.taints
                ),
                allocatable=dict(group.resources),
                non_armada_allocated=dict(group.non_armada_allocated),
                unschedulable=group.unschedulable,
            )
            nodes[node_name] = FakeNode(view, allocatable, reserved)
    return nodes


def choose_node(
    nodes: dict[str, FakeNode],
    requests: dict[str, int],
    pinned: str,
    tolerations: list[dict[str, Any]],
) -> FakeNode | None:
    """The node a pod binds to (``pinned``: the node it must go to, or ''), if any."""
    candidates = [nodes[pinned]] if pinned in nodes else []
    if not pinned:
        candidates = list(nodes.values())
    for node in candidates:
        if node.view.unschedulable or not node.fits(requests):
            continue
        if all(
            tolerates(tolerations, t) for t in node.view.taints if t.effect != "PreferNoSchedule"
        ):
            return node
    return None


def why_unschedulable(nodes: dict[str, FakeNode], pinned: str, refused: bool) -> str:
    """kube-scheduler's FailedScheduling message (``refused``: the scenario binds nowhere)."""
    total = len(nodes)
    prefix = f"0/{total} nodes are available:"
    if refused or (pinned and pinned not in nodes):
        return f"{prefix} {total} node(s) didn't match Pod's node affinity/selector."
    return f"{prefix} 1 Insufficient resources or node unschedulable."

"""Nodes as the scheduler sees them, and the Kubernetes rules for whether a job may use one.

The rules here are the scalar truth (one job, one node): taints against tolerations,
``nodeSelector``, required node affinity. :mod:`armada.scheduling.nodedb` applies the same rules
to thousands of nodes at once with vectorised label columns, and the tests check that both
agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from armada.domain.jobs import NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration

BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
AFFINITY_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"})


class Node(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A node of an executor's cluster, as reported by its executor.

    ``allocatable`` and ``non_armada_allocated`` are in milli-units
    (:mod:`armada.domain.resources`); what Armada may use is their difference.
    """

    executor: str
    name: str
    pool: str
    allocatable: dict[str, int]
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    non_armada_allocated: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def ref(self) -> tuple[str, str]:
        return (self.executor, self.name)

    def available(self, name: str) -> int:
        return max(0, self.allocatable.get(name, 0) - self.non_armada_allocated.get(name, 0))


def toleration_matches(toleration: Toleration, taint: Taint) -> bool:
    """Kubernetes' rule: empty key with Exists tolerates everything; empty effect any effect."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.operator == "Exists":
        return not toleration.key or toleration.key == taint.key
    return toleration.key == taint.key and toleration.value == taint.value


def untolerated_taint(tolerations: Sequence[Toleration], taints: Sequence[Taint]) -> Taint | None:
    """The first NoSchedule/NoExecute taint no toleration matches (PreferNoSchedule is ignored)."""
    for taint in taints:
        if taint.effect not in BLOCKING_EFFECTS:
            continue
        if not any(toleration_matches(t, taint) for t in tolerations):
            return taint
    return None


def _as_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def expression_matches(expr: NodeSelectorRequirement, labels: Mapping[str, str]) -> bool:
    value = labels.get(expr.key)
    op = expr.operator
    if op == "In":
        return value is not None and value in expr.values
    if op == "NotIn":
        return value is None or value not in expr.values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and len(expr.values) == 1:
        have, bound = _as_int(value), _as_int(expr.values[0])
        if have is None or bound is None:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def term_matches(term: NodeSelectorTerm, labels: Mapping[str, str]) -> bool:
    """All expressions of a term must hold; an empty term matches nothing (Kubernetes' rule)."""
    if not term.match_expressions:
        return False
    return all(expression_matches(e, labels) for e in term.match_expressions)


def affinity_matches(terms: Sequence[NodeSelectorTerm], labels: Mapping[str, str]) -> bool:
    """Terms are ORed; no terms at all means no constraint."""
    return not terms or any(term_matches(t, labels) for t in terms)


def selector_matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def describe_taint(taint: Taint) -> str:
    value = f"={taint.value}" if taint.value else ""
    return f"{taint.key}{value}:{taint.effect}"

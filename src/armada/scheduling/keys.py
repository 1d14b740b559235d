"""Scheduling keys: one shared object per distinct set of scheduling requirements.

Most queued jobs are twins of thousands of others (same resources, priority class, selectors,
tolerations, affinity). Interning their requirements lets the job database group them, lets
the scheduler decide "does not fit" once for the whole group, and keeps one requirements
object in memory instead of a million. The table only grows; it is shared by every version of
the job database, so readers of an old snapshot always find the keys they hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from armada.domain.jobs import SchedulingRequirements
from armada.domain.resources import format_resources


@dataclass(frozen=True, slots=True, eq=False)
class SchedulingKey:
    """An interned set of requirements. Compare by ``id`` (or identity)."""

    id: int
    requirements: SchedulingRequirements
    pc_priority: int

    @property
    def priority_class(self) -> str:
        return self.requirements.priority_class

    def describe(self) -> str:
        req = self.requirements
        parts = [format_resources(req.resources)]
        parts.append(f"class {req.priority_class}")
        if req.node_selector:
            parts.append("selector " + ",".join(f"{k}={v}" for k, v in req.node_selector.items()))
        if req.tolerations:
            parts.append(f"{len(req.tolerations)} tolerations")
        if req.node_affinity:
            parts.append("node affinity")
        return "; ".join(parts)


class KeyTable:
    """Interns :class:`SchedulingRequirements`; ``of`` maps an interned object to its key."""

    def __init__(self, pc_priorities: dict[str, int], default_priority: int) -> None:
        self._pc_priorities = pc_priorities
        self._default_priority = default_priority
        self._by_value: dict[tuple[object, ...], SchedulingKey] = {}
        self._by_identity: dict[int, SchedulingKey] = {}
        self._by_id: list[SchedulingKey] = []
        self._last: SchedulingKey | None = None

    def intern(self, requirements: SchedulingRequirements) -> SchedulingKey:
        """The key of ``requirements``; its ``.requirements`` is the one shared object."""
        # Twins come in runs (a submission is mostly one job shape): comparing with the last
        # key's requirements (equal exactly when their key() is) is far cheaper than key().
        last = self._last
        if last is not None and (
            requirements is last.requirements or requirements == last.requirements
        ):
            return last
        known = self._by_identity.get(id(requirements))
        if known is not None and known.requirements is requirements:
            self._last = known
            return known
        value = requirements.key()
        key = self._by_value.get(value)
        if key is None:
            priority = self._pc_priorities.get(requirements.priority_class, self._default_priority)
            key = SchedulingKey(
                id=len(self._by_id), requirements=requirements, pc_priority=priority
            )
            self._by_value[value] = key
            self._by_identity[id(requirements)] = key
            self._by_id.append(key)
        self._last = key
        return key

    def of(self, requirements: SchedulingRequirements) -> SchedulingKey:
        """The key of an already interned requirements object."""
        key = self._by_identity.get(id(requirements))
        if key is None or key.requirements is not requirements:
            return self.intern(requirements)
        return key

    def __getitem__(self, key_id: int) -> SchedulingKey:
        return self._by_id[key_id]

    def __len__(self) -> int:
        return len(self._by_id)


@dataclass(frozen=True, slots=True, eq=False)
class QueuedGroup:
    """Queued twins: one scheduling key and one set of pools they may run in (None: any)."""

    id: int
    key: SchedulingKey
    pools: frozenset[str] | None

    def admits(self, pool: str) -> bool:
        return self.pools is None or pool in self.pools


class GroupTable:
    """Interns (scheduling key, validated pools) pairs; only grows, like :class:`KeyTable`."""

    def __init__(self) -> None:
        self._by_value: dict[tuple[int, tuple[str, ...]], QueuedGroup] = {}
        self._by_id: list[QueuedGroup] = []

    def intern(self, key: SchedulingKey, pools: tuple[str, ...]) -> QueuedGroup:
        group = self._by_value.get((key.id, pools))
        if group is None:
            group = QueuedGroup(
                id=len(self._by_id), key=key, pools=frozenset(pools) if pools else None
            )
            self._by_value[(key.id, pools)] = group
            self._by_id.append(group)
        return group

    def __getitem__(self, group_id: int) -> QueuedGroup:
        return self._by_id[group_id]

"""Scheduling keys: one shared object per distinct set of scheduling requirements.

Most queued jobs are twins of thousands of others (same resources, priority class, selectors,
tolerations, affinity). Interning their requirements lets the job database group them, lets
the scheduler decide "does not fit" once for the whole group, and keeps one requirements
object in memory instead of a million.

The tables are shared by every version of the job database, and they must not grow for ever
when every job has its own shape (a per-job memory request or node selector): the job database
counts, per key, the jobs of its *current* version that use it (:meth:`KeyTable.settle`, at the
end of each write transaction), and a key no job uses any more is reclaimed
(:meth:`KeyTable.reclaim`), with its queued groups, only once every snapshot still alive is at
least as new as the version that stopped using it: readers of an old snapshot always find the
keys its jobs hold. Ids are never reused, so an id seen in an old report never names another
key.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
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
        self._by_id: dict[int, SchedulingKey] = {}
        self._last: SchedulingKey | None = None
        self._next_id = 0
        self._uses: dict[int, int] = {}  # key id -> jobs of the current version using it
        self._created: list[int] = []  # keys made since the last settle
        self._died: dict[int, int] = {}  # unused key id -> the first version not using it
        self._dead: deque[tuple[int, int]] = deque()  # (that version, key id), oldest first

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
            key = SchedulingKey(id=self._next_id, requirements=requirements, pc_priority=priority)
            self._next_id += 1
            self._by_value[value] = key
            self._by_identity[id(requirements)] = key
            self._by_id[key.id] = key
            self._created.append(key.id)
        self._last = key
        return key

    def of(self, requirements: SchedulingRequirements) -> SchedulingKey:
        """The key of an already interned requirements object."""
        key = self._by_identity.get(id(requirements))
        if key is None or key.requirements is not requirements:
            return self.intern(requirements)
        return key

    def lookup(self, requirements: SchedulingRequirements) -> SchedulingKey | None:
        """The key of an interned requirements object, or None (never interns)."""
        key = self._by_identity.get(id(requirements))
        return key if key is not None and key.requirements is requirements else None

    def __getitem__(self, key_id: int) -> SchedulingKey:
        return self._by_id[key_id]

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, key_id: int) -> bool:
        return key_id in self._by_id

    def use_counts(self) -> dict[int, int]:
        """Key id -> how many jobs of the current version use it (keys in use only)."""
        return dict(self._uses)

    def settle(self, changes: Mapping[int, int], version: int) -> None:
        """A write transaction ended: ``changes`` (key id -> jobs gained or lost; none if it
        was aborted) apply from ``version`` on. Keys it left unused become reclaimable once no
        snapshot older than ``version`` is alive; keys it made that no job uses, at once."""
        uses, died, dead = self._uses, self._died, self._dead
        for key_id, change in changes.items():
            if not change:
                continue
            count = uses.get(key_id, 0) + change
            if count > 0:
                if key_id not in uses:
                    died.pop(key_id, None)  # in use again before it was reclaimed
                uses[key_id] = count
            else:
                assert count == 0, f"scheduling key {key_id} used by {count} jobs"
                uses.pop(key_id, None)
                died[key_id] = version
                dead.append((version, key_id))
        for key_id in self._created:  # made and left unused: no version ever held them
            if key_id not in uses and key_id not in died:
                died[key_id] = 0
                dead.appendleft((0, key_id))
        self._created.clear()

    def reclaim(self, oldest_version: int, groups: GroupTable) -> int:
        """Forget the unused keys (and their groups) that no snapshot of ``oldest_version`` or
        newer can hold; return how many were forgotten."""
        dead, died, forgotten = self._dead, self._died, 0
        while dead and dead[0][0] <= oldest_version:
            version, key_id = dead.popleft()
            if died.get(key_id) != version:
                continue  # used again since (and perhaps unused again, a later entry)
            del died[key_id]
            key = self._by_id.pop(key_id)
            requirements = key.requirements
            del self._by_value[requirements.key()]
            if self._by_identity.get(id(requirements)) is key:
                del self._by_identity[id(requirements)]
            if self._last is key:
                self._last = None
            groups.forget_key(key_id)
            forgotten += 1
        return forgotten


@dataclass(frozen=True, slots=True, eq=False)
class QueuedGroup:
    """Queued twins: one scheduling key and one set of pools they may run in (None: any)."""

    id: int
    key: SchedulingKey
    pools: frozenset[str] | None

    def admits(self, pool: str) -> bool:
        return self.pools is None or pool in self.pools


class GroupTable:
    """Interns (scheduling key, validated pools) pairs; forgotten with their key."""

    def __init__(self) -> None:
        self._by_value: dict[tuple[int, tuple[str, ...]], QueuedGroup] = {}
        self._by_id: dict[int, QueuedGroup] = {}
        self._of_key: dict[int, list[tuple[int, tuple[str, ...]]]] = {}
        self._next_id = 0

    def intern(self, key: SchedulingKey, pools: tuple[str, ...]) -> QueuedGroup:
        group = self._by_value.get((key.id, pools))
        if group is None:
            group = QueuedGroup(
                id=self._next_id, key=key, pools=frozenset(pools) if pools else None
            )
            self._next_id += 1
            self._by_value[(key.id, pools)] = group
            self._by_id[group.id] = group
            self._of_key.setdefault(key.id, []).append((group.id, pools))
        return group

    def forget_key(self, key_id: int) -> None:
        """Drop every group of a reclaimed key."""
        for group_id, pools in self._of_key.pop(key_id, ()):
            del self._by_id[group_id]
            del self._by_value[(key_id, pools)]

    def __getitem__(self, group_id: int) -> QueuedGroup:
        return self._by_id[group_id]

    def __contains__(self, group_id: int) -> bool:
        return group_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

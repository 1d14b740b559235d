"""Queues, priority classes and retry policies: the administrative objects users create.

These are plain data. Who may change them and how is decided by the server; how they affect
scheduling is decided by the scheduler core.
"""

from __future__ import annotations

import enum

import msgspec

QUEUE_VERBS = ("submit", "cancel", "preempt", "reprioritize", "watch")


class PermissionSubject(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    kind: str  # "User" or "Group"
    name: str


class QueuePermission(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Lets the subjects perform the verbs (submit, cancel, preempt, reprioritize, watch)."""

    subjects: tuple[PermissionSubject, ...]
    verbs: tuple[str, ...]


class ResourceFractionLimits(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The largest fraction of a pool's resources a queue may hold at one priority class."""

    maximum_resource_fraction: dict[str, float] = msgspec.field(default_factory=dict)
    maximum_resource_fraction_by_pool: dict[str, dict[str, float]] = msgspec.field(
        default_factory=dict
    )

    def for_pool(self, pool: str) -> dict[str, float]:
        return self.maximum_resource_fraction_by_pool.get(pool, self.maximum_resource_fraction)


class Queue(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A queue: its jobs share capacity with other queues in proportion to ``1/priority_factor``."""

    name: str
    priority_factor: float = 1.0
    user_owners: tuple[str, ...] = ()
    group_owners: tuple[str, ...] = ()
    permissions: tuple[QueuePermission, ...] = ()
    cordoned: bool = False
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    resource_limits_by_priority_class: dict[str, ResourceFractionLimits] = msgspec.field(
        default_factory=dict
    )
    retry_policies: tuple[str, ...] = ()

    @property
    def weight(self) -> float:
        return 1.0 / self.priority_factor


class PriorityClass(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A scheduling priority class (Armada's ``scheduling.priorityClasses`` entry).

    ``priority``: higher values may urgency-preempt lower ones. ``preemptible``: whether jobs of
    this class may be preempted to restore fair share. ``maximum_resource_fraction_per_queue``
    caps what one queue may hold at this class (overridable per pool and per queue).
    """

    name: str
    priority: int
    preemptible: bool
    maximum_resource_fraction_per_queue: dict[str, float] = msgspec.field(default_factory=dict)
    maximum_resource_fraction_per_queue_by_pool: dict[str, dict[str, float]] = msgspec.field(
        default_factory=dict
    )


class RetryAction(enum.StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    FAIL = "FAIL"
    RETRY = "RETRY"


class RetryRule(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    action: RetryAction
    on_category: str = ""
    on_subcategory: str = ""
    avoid_same_node: bool = False
    memory_static: str = ""
    memory_factor: float = 0.0


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A named retry policy: which failures to retry and how (Armada's ``RetryPolicy``)."""

    name: str
    retry_limit: int = 0
    default_action: RetryAction = RetryAction.UNSPECIFIED
    rules: tuple[RetryRule, ...] = ()


class ExecutorSettings(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Admin settings for one executor (cluster): cordoned executors get no new jobs."""

    executor: str
    cordoned: bool = False
    cordon_reason: str = ""
    set_by: str = ""

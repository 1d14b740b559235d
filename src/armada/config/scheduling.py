"""Scheduling settings shared by the API server (priority classes) and the scheduler.

The scheduler issue extends this model with the algorithm's knobs; the priority classes live
here because the server validates submissions against them.
"""

from __future__ import annotations

from pydantic import Field

from armada.config.base import Settings
from armada.domain.queues import PriorityClass


class PriorityClassSettings(Settings):
    """One priority class (Armada's ``scheduling.priorityClasses.<name>``)."""

    priority: int = Field(1000, description="Higher may urgency-preempt lower.")
    preemptible: bool = Field(False, description="Whether fair-share preemption may evict it.")
    maximum_resource_fraction_per_queue: dict[str, float] = Field(
        default_factory=dict,
        description="Largest fraction of a pool one queue may hold at this class.",
    )
    maximum_resource_fraction_per_queue_by_pool: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Per-pool overrides of the above."
    )

    def to_domain(self, name: str) -> PriorityClass:
        return PriorityClass(
            name=name,
            priority=self.priority,
            preemptible=self.preemptible,
            maximum_resource_fraction_per_queue=dict(self.maximum_resource_fraction_per_queue),
            maximum_resource_fraction_per_queue_by_pool={
                pool: dict(limits)
                for pool, limits in self.maximum_resource_fraction_per_queue_by_pool.items()
            },
        )


def _default_priority_classes() -> dict[str, PriorityClassSettings]:
    return {
        "armada-default": PriorityClassSettings(
            priority=1000,
            preemptible=False,
            maximum_resource_fraction_per_queue={"cpu": 1.0, "memory": 1.0},
        ),
        "armada-preemptible": PriorityClassSettings(priority=1000, preemptible=True),
    }


class PriorityClassesSettings(Settings):
    """The configured priority classes, by name."""

    priority_classes: dict[str, PriorityClassSettings] = Field(
        default_factory=_default_priority_classes,
        description="Priority classes jobs may use (Armada's defaults if unset).",
    )

    def domain_priority_classes(self) -> dict[str, PriorityClass]:
        return {name: pc.to_domain(name) for name, pc in self.priority_classes.items()}

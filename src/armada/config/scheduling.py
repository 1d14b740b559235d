"""Scheduling settings shared by the API server (priority classes) and the scheduler.

The priority classes live here because the server validates submissions against them;
:class:`SchedulingSettings` adds every knob of the scheduling algorithm (docs/scheduling.md).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from armada.config.base import Duration, Settings
from armada.domain.queues import PriorityClass


class PriorityClassSettings(Settings):
    """One priority class (Armada's ``scheduling.priorityClasses.<name>``)."""

    priority: int = Field(1000, description="Higher may urgency-preempt lower.")
    preemptible: bool = Field(
        False,
        description="Whether its jobs may be preempted at all (fair share or urgency); "
        "a non-preemptible job is never preempted by the scheduler.",
    )
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


def _default_drf_resources() -> list[str]:
    return ["cpu", "memory", "nvidia.com/gpu", "ephemeral-storage"]


def _default_indexed_resources() -> dict[str, str]:
    return {"cpu": "100m", "memory": "100Mi", "ephemeral-storage": "1Gi", "nvidia.com/gpu": "1"}


def _default_fraction_to_schedule() -> dict[str, float]:
    return {"cpu": 1.0, "memory": 1.0}


class PoolSchedulingSettings(Settings):
    """Overrides for one pool (Armada's ``scheduling.pools[]``); unset fields use the global."""

    protected_fraction_of_fair_share: float | None = Field(
        None, ge=0.0, description="Overrides the global protectedFractionOfFairShare here."
    )
    disable_fair_share_preemption: bool = Field(
        False, description="Never evict jobs in this pool to restore fair share."
    )
    disable_urgency_preemption: bool = Field(
        False, description="Never let higher priority classes preempt lower ones in this pool."
    )
    maximum_resource_fraction_to_schedule: dict[str, float] | None = Field(
        None, description="Overrides the global per-round cap for this pool."
    )


class SchedulingSettings(PriorityClassesSettings):
    """Every knob of the scheduling algorithm (Armada's ``scheduling.*``), with its defaults."""

    default_priority_class_name: str = Field(
        "armada-default",
        description="Class assumed for jobs naming a class that is not configured.",
    )
    indexed_resources: dict[str, str] = Field(
        default_factory=_default_indexed_resources,
        description="Resources the scheduler tracks, with the resolution node capacity is "
        "rounded down to (a job asking for anything else cannot be placed).",
    )
    dominant_resource_fairness_resources_to_consider: list[str] = Field(
        default_factory=_default_drf_resources,
        description="Resources whose largest share of the pool is a queue's cost (DRF).",
    )
    protected_fraction_of_fair_share: float = Field(
        1.0,
        ge=0.0,
        description="Queues holding at most this fraction of their fair share are never "
        "fair-share preempted (a queue is evictable when actual/fair > this).",
    )
    enable_fair_share_preemption: bool = Field(
        True, description="Evict preemptible jobs of queues above their fair share each round."
    )
    enable_urgency_preemption: bool = Field(
        True, description="Let jobs of higher priority classes preempt lower ones to fit."
    )
    maximum_scheduling_rate: float = Field(
        100.0, gt=0.0, description="Jobs per second the global token bucket refills with."
    )
    maximum_scheduling_burst: int = Field(
        1000, gt=0, description="Size of the global bucket: the most new jobs in one round."
    )
    maximum_per_queue_scheduling_rate: float = Field(
        50.0, gt=0.0, description="Jobs per second each queue's token bucket refills with."
    )
    maximum_per_queue_scheduling_burst: int = Field(
        1000, gt=0, description="Size of each queue's bucket: its most new jobs in one round."
    )
    maximum_resource_fraction_to_schedule: dict[str, float] = Field(
        default_factory=_default_fraction_to_schedule,
        description="Largest fraction of a pool's resources newly scheduled in one round.",
    )
    max_queue_lookback: int = Field(
        100_000, gt=0, description="Most queued jobs of one queue examined per pool per round."
    )
    max_scheduling_duration: Duration = Field(
        timedelta(seconds=5),
        description="Time budget of a round; after it only evicted jobs are put back.",
    )
    pools: dict[str, PoolSchedulingSettings] = Field(
        default_factory=dict, description="Per-pool overrides, by pool name."
    )
    report_rounds_kept: int = Field(
        10, gt=0, description="How many past rounds the scheduling reports remember."
    )

    def pool(self, name: str) -> PoolSchedulingSettings:
        return self.pools.get(name) or PoolSchedulingSettings()

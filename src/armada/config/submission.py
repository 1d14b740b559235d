"""How the API server validates and defaults submitted jobs (Armada's ``submission.*``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from armada.config.base import Duration, Settings


class TolerationSetting(Settings):
    """A toleration added to jobs by default."""

    key: str = Field("", description="The taint key tolerated; empty with Exists tolerates all.")
    operator: str = Field("Equal", description="Equal or Exists.")
    value: str = Field("", description="The taint value, for Equal.")
    effect: str = Field(
        "", description="NoSchedule, PreferNoSchedule, NoExecute, or empty for all."
    )


def _gpu_tolerations() -> dict[str, list[TolerationSetting]]:
    return {
        "nvidia.com/gpu": [
            TolerationSetting(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")
        ]
    }


class SubmissionSettings(Settings):
    """Rules applied to every submitted job before it is accepted (all or nothing per request)."""

    allowed_priority_class_names: list[str] = Field(
        default_factory=list,
        description="Priority classes jobs may name; empty means every configured class.",
    )
    default_priority_class_name: str = Field(
        "armada-default", description="Given to jobs that name no priority class."
    )
    max_pod_spec_size_bytes: int = Field(
        65535, gt=0, description="Larger pod specs are refused (they bloat the log and etcd)."
    )
    max_job_set_id_length: int = Field(1023, gt=0, description="Longest accepted job set id.")
    max_client_id_length: int = Field(100, gt=0, description="Longest accepted client_id.")
    min_job_resources: dict[str, str] = Field(
        default_factory=lambda: {"memory": "1Mi"},
        description="Jobs requesting less than this (per resource) are refused.",
    )
    default_job_limits: dict[str, str] = Field(
        default_factory=lambda: {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "8Gi"},
        description="Filled in for any of these resources a container does not request.",
    )
    supported_resource_types: list[str] = Field(
        default_factory=lambda: ["cpu", "memory", "ephemeral-storage", "nvidia.com/gpu"],
        description="Resources jobs may request; a request for anything else is refused.",
    )
    max_oversubscription_by_resource_request: dict[str, float] = Field(
        default_factory=dict,
        description="Allowed limit/request ratio per resource; absent means limits == requests.",
    )
    default_job_tolerations: list[TolerationSetting] = Field(
        default_factory=list, description="Tolerations added to every job."
    )
    default_job_tolerations_by_priority_class: dict[str, list[TolerationSetting]] = Field(
        default_factory=dict, description="Tolerations added to jobs of a priority class."
    )
    default_job_tolerations_by_resource_request: dict[str, list[TolerationSetting]] = Field(
        default_factory=_gpu_tolerations,
        description="Tolerations added to jobs that request a resource (e.g. GPU nodes' taint).",
    )
    restricted_toleration_keys: list[str] = Field(
        default_factory=list, description="Taint keys users may not tolerate themselves."
    )
    default_active_deadline: Duration = Field(
        timedelta(hours=72), description="activeDeadlineSeconds given to jobs that set none."
    )
    default_active_deadline_by_resource_request: dict[str, Duration] = Field(
        default_factory=lambda: {"nvidia.com/gpu": timedelta(hours=336)},
        description="Deadline for jobs requesting a resource; the longest matching one wins.",
    )
    min_termination_grace_period: Duration = Field(
        timedelta(seconds=1), description="Shortest grace period; 0 or unset becomes this."
    )
    max_termination_grace_period: Duration = Field(
        timedelta(minutes=5), description="Longest grace period a job may ask for."
    )
    default_gang_node_uniformity_label: str = Field(
        "", description="Uniformity label given to gangs that name none."
    )
    assert_init_containers_request_fractional_cpu: bool = Field(
        False, description="Refuse init containers asking for whole CPUs (they block cores)."
    )
    allow_custom_service_names: bool = Field(
        False,
        description="Let jobs name their Kubernetes services; otherwise a name given is ignored, "
        "with a warning, and the generated one used (as Armada does).",
    )

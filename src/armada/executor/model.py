"""The executor's plain data: leases in, pods planned, pods and nodes observed.

These types are what the executor's pure logic reads and returns. Protobuf stays at the edge
(:mod:`armada.executor.wire` converts leases and events); each backend converts its own view of
pods and nodes into :class:`PodView` and :class:`NodeView`. Pods to create travel as Kubernetes
manifests (plain JSON-shaped dicts), the one form every backend can read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The lease's one type, shared with the scheduler; re-exported for the executor's modules.
from armada.domain.leases import Lease as Lease  # noqa: PLC0414

# Armada's pod labels and annotations (internal/executor/domain/pod_metadata.go).
JOB_ID_LABEL = "armada_job_id"
RUN_ID_LABEL = "armada_job_run_id"
QUEUE_LABEL = "armada_queue_id"
JOB_SET_LABEL = "armada_jobset_id"
OWNER_LABEL = "armada_owner"
POD_NUMBER_LABEL = "armada_pod_number"

Manifest = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class PodPlan:
    """Everything to create for one run: its pod, and its services and ingresses."""

    run_id: str
    job_id: str
    namespace: str
    pod_name: str
    node: str
    pod: Manifest
    services: tuple[Manifest, ...] = ()
    ingresses: tuple[Manifest, ...] = ()
    # Ports reachable on the pod and the ingress host of each, for IngressInfo.
    ingress_hosts: Mapping[int, str] = field(default_factory=dict)
    service_ports: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerView:
    """One container's status, as the kubelet reports it.

    ``state`` is ``waiting``, ``running`` or ``terminated``; ``reason``/``message`` are those of
    that state (e.g. waiting ``ErrImagePull``, terminated ``OOMKilled``).
    """

    name: str
    state: str = "waiting"
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    restart_count: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PodView:
    """A pod as observed in the cluster. ``phase`` is Kubernetes': Pending, Running, ..."""

    name: str
    namespace: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    phase: str = "Pending"
    node: str = ""
    reason: str = ""
    message: str = ""
    containers: tuple[ContainerView, ...] = ()
    init_containers: tuple[ContainerView, ...] = ()
    created: float = 0.0
    started: float | None = None
    deleting_since: float | None = None
    # spec.activeDeadlineSeconds: how long the pod may be active, counted from its start.
    active_deadline: float | None = None
    pod_ip: str = ""
    resource_version: str = ""

    @property
    def run_id(self) -> str:
        return self.labels.get(RUN_ID_LABEL, "")

    @property
    def job_id(self) -> str:
        return self.labels.get(JOB_ID_LABEL, "")

    @property
    def terminal(self) -> bool:
        return self.phase in ("Succeeded", "Failed")


@dataclass(frozen=True, slots=True, kw_only=True)
class PodEvent:
    """A Kubernetes event about a pod (``type`` Normal or Warning)."""

    namespace: str
    pod_name: str
    type: str
    reason: str
    message: str
    first_seen: float
    last_seen: float


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeTaint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeView:
    """A node as the executor reports it to the scheduler (quantities as strings)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[NodeTaint, ...] = ()
    allocatable: Mapping[str, str] = field(default_factory=dict)
    non_armada_allocated: Mapping[str, str] = field(default_factory=dict)
    unschedulable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResource:
    """A service or ingress Armada created for a run (for orphan cleanup)."""

    kind: str
    namespace: str
    name: str
    run_id: str


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a pod's output; ``timestamp`` is RFC 3339, or empty if unknown."""

    timestamp: str
    line: str

"""A lease: a run the scheduler gave an executor, with everything the executor needs to start
it. The one type for the executor API's ``JobRunLease`` on both sides of the wire (the codec is
:mod:`armada.rpc.executor_codec`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from armada.domain.jobs import Gang, IngressConfig, ServiceConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """A run the scheduler gave this executor: the job's spec, pinned to a node."""

    run_id: str
    job_id: str
    queue: str
    job_set: str
    owner: str = ""
    groups: tuple[str, ...] = ()
    namespace: str = "default"
    node: str = ""
    pool: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    pod_spec: bytes = b""
    priority_class: str = ""
    services: tuple[ServiceConfig, ...] = ()
    ingress: tuple[IngressConfig, ...] = ()
    gang: Gang | None = None
    gang_uniformity_value: str = ""
    previous_attempts: int = 0

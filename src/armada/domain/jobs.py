"""What a job is: its immutable specification as submitted (after validation and defaulting).

A job is a Kubernetes pod spec plus Armada's metadata. The pod spec itself is kept as opaque
protobuf bytes (``k8s.io.api.core.v1.PodSpec``): the domain never looks inside it. What the
scheduler needs from it is extracted once, at submission, into :class:`SchedulingRequirements`,
so that the scheduler holds only small, internable requirement records and never pod specs.
"""

from __future__ import annotations

import msgspec

# Annotations with a meaning to Armada (Armada's own keys, so that its users' specs carry over).
GANG_ID_ANNOTATION = "armadaproject.io/gangId"
GANG_CARDINALITY_ANNOTATION = "armadaproject.io/gangCardinality"
GANG_NODE_UNIFORMITY_LABEL_ANNOTATION = "armadaproject.io/gangNodeUniformityLabel"
FAIL_FAST_ANNOTATION = "armadaproject.io/failFast"
EXTERNAL_JOB_URI_ANNOTATION = "armadaproject.io/externalJobUri"
POOL_ANNOTATION = "armadaproject.io/pool"


class Toleration(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A Kubernetes toleration (``operator`` is ``Equal`` or ``Exists``)."""

    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""


class Taint(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A Kubernetes node taint (``effect``: NoSchedule, PreferNoSchedule or NoExecute)."""

    key: str
    value: str = ""
    effect: str = "NoSchedule"


class NodeSelectorRequirement(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One ``matchExpressions`` entry of a required node affinity term.

    ``operator`` is one of In, NotIn, Exists, DoesNotExist, Gt, Lt.
    """

    key: str
    operator: str
    values: tuple[str, ...] = ()


class NodeSelectorTerm(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A required node affinity term: all of its expressions must hold (terms are ORed)."""

    match_expressions: tuple[NodeSelectorRequirement, ...] = ()


# gc=False (here, on JobSpec, RunRecord, JobRecord and the events): immutable values that never
# refer back to themselves, so the cyclic collector need not track them. Tracked, a 1,000-job
# submission made thousands of objects for the young collections after it to walk, and the
# caches of jobs (the views' updater, the scheduler's job database) made every full collection
# walk them all.
class SchedulingRequirements(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False
):
    """Everything the scheduler needs to know about where a job may run and what it takes.

    ``resources`` is the job's request in milli-units: the sum over its containers, or the
    largest init container if that is larger (Kubernetes' rule).
    """

    resources: dict[str, int]
    priority_class: str
    node_selector: dict[str, str] = msgspec.field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    node_affinity: tuple[NodeSelectorTerm, ...] = ()

    def key(self) -> tuple[object, ...]:
        """A hashable identity: jobs with equal keys are interchangeable to the scheduler."""
        return (
            tuple(sorted(self.resources.items())),
            self.priority_class,
            tuple(sorted(self.node_selector.items())),
            self.tolerations,
            self.node_affinity,
        )


class Gang(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Membership of a gang: jobs scheduled all together or not at all."""

    id: str
    cardinality: int
    node_uniformity_label: str = ""


class IngressConfig(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An ingress Armada creates for the job's pod (Armada's ``IngressConfig``)."""

    ports: tuple[int, ...]
    annotations: dict[str, str] = msgspec.field(default_factory=dict)
    tls_enabled: bool = False
    cert_name: str = ""
    use_cluster_ip: bool = False


class ServiceConfig(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A service Armada creates for the job's pod: ``NodePort`` or ``Headless``."""

    type: str
    ports: tuple[int, ...]
    name: str = ""


class JobSpec(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """A submitted job, exactly as it was accepted. Never changes after submission.

    ``priority`` is the submitted priority as an unsigned integer (lower is scheduled first);
    the current priority after any reprioritisation lives on the job record, not here.
    """

    job_id: str
    queue: str
    job_set: str
    namespace: str
    priority: int
    requirements: SchedulingRequirements
    pod_spec: bytes
    submitted: float
    owner: str = ""
    groups: tuple[str, ...] = ()
    client_id: str = ""
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    annotations: dict[str, str] = msgspec.field(default_factory=dict)
    gang: Gang | None = None
    fail_fast: bool = False
    ingress: tuple[IngressConfig, ...] = ()
    services: tuple[ServiceConfig, ...] = ()
    external_job_uri: str = ""
    scheduler: str = ""

    @property
    def priority_class(self) -> str:
        return self.requirements.priority_class

from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Taint(_message.Message):
    __slots__ = ("key", "value", "effect")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    effect: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ..., effect: _Optional[str] = ...) -> None: ...

class NodeInfo(_message.Message):
    __slots__ = ("name", "taints", "labels", "total_resources", "non_armada_allocated_resources", "unschedulable", "pool", "run_ids")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class TotalResourcesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class NonArmadaAllocatedResourcesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAINTS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    NON_ARMADA_ALLOCATED_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    UNSCHEDULABLE_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    taints: _containers.RepeatedCompositeFieldContainer[Taint]
    labels: _containers.ScalarMap[str, str]
    total_resources: _containers.ScalarMap[str, str]
    non_armada_allocated_resources: _containers.ScalarMap[str, str]
    unschedulable: bool
    pool: str
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., taints: _Optional[_Iterable[_Union[Taint, _Mapping]]] = ..., labels: _Optional[_Mapping[str, str]] = ..., total_resources: _Optional[_Mapping[str, str]] = ..., non_armada_allocated_resources: _Optional[_Mapping[str, str]] = ..., unschedulable: _Optional[bool] = ..., pool: _Optional[str] = ..., run_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class LeaseRequest(_message.Message):
    __slots__ = ("executor_id", "pool", "nodes", "max_jobs_to_lease", "active_run_ids", "unassigned_run_ids")
    EXECUTOR_ID_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    MAX_JOBS_TO_LEASE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    UNASSIGNED_RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    executor_id: str
    pool: str
    nodes: _containers.RepeatedCompositeFieldContainer[NodeInfo]
    max_jobs_to_lease: int
    active_run_ids: _containers.RepeatedScalarFieldContainer[str]
    unassigned_run_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, executor_id: _Optional[str] = ..., pool: _Optional[str] = ..., nodes: _Optional[_Iterable[_Union[NodeInfo, _Mapping]]] = ..., max_jobs_to_lease: _Optional[int] = ..., active_run_ids: _Optional[_Iterable[str]] = ..., unassigned_run_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GangInfo(_message.Message):
    __slots__ = ("id", "cardinality", "node_uniformity_label", "node_uniformity_value")
    ID_FIELD_NUMBER: _ClassVar[int]
    CARDINALITY_FIELD_NUMBER: _ClassVar[int]
    NODE_UNIFORMITY_LABEL_FIELD_NUMBER: _ClassVar[int]
    NODE_UNIFORMITY_VALUE_FIELD_NUMBER: _ClassVar[int]
    id: str
    cardinality: int
    node_uniformity_label: str
    node_uniformity_value: str
    def __init__(self, id: _Optional[str] = ..., cardinality: _Optional[int] = ..., node_uniformity_label: _Optional[str] = ..., node_uniformity_value: _Optional[str] = ...) -> None: ...

class ServiceConfig(_message.Message):
    __slots__ = ("type", "ports", "name")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    type: str
    ports: _containers.RepeatedScalarFieldContainer[int]
    name: str
    def __init__(self, type: _Optional[str] = ..., ports: _Optional[_Iterable[int]] = ..., name: _Optional[str] = ...) -> None: ...

class IngressConfig(_message.Message):
    __slots__ = ("ports", "annotations", "tls_enabled", "cert_name", "use_cluster_ip")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PORTS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    TLS_ENABLED_FIELD_NUMBER: _ClassVar[int]
    CERT_NAME_FIELD_NUMBER: _ClassVar[int]
    USE_CLUSTER_IP_FIELD_NUMBER: _ClassVar[int]
    ports: _containers.RepeatedScalarFieldContainer[int]
    annotations: _containers.ScalarMap[str, str]
    tls_enabled: bool
    cert_name: str
    use_cluster_ip: bool
    def __init__(self, ports: _Optional[_Iterable[int]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., tls_enabled: _Optional[bool] = ..., cert_name: _Optional[str] = ..., use_cluster_ip: _Optional[bool] = ...) -> None: ...

class JobRunLease(_message.Message):
    __slots__ = ("run_id", "job_id", "queue", "job_set", "user", "groups", "namespace", "node", "pool", "labels", "annotations", "pod_spec", "priority_class", "services", "ingress", "gang", "previous_attempts")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    JOB_SET_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    POD_SPEC_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_CLASS_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    INGRESS_FIELD_NUMBER: _ClassVar[int]
    GANG_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    job_id: str
    queue: str
    job_set: str
    user: str
    groups: _containers.RepeatedScalarFieldContainer[str]
    namespace: str
    node: str
    pool: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    pod_spec: bytes
    priority_class: str
    services: _containers.RepeatedCompositeFieldContainer[ServiceConfig]
    ingress: _containers.RepeatedCompositeFieldContainer[IngressConfig]
    gang: GangInfo
    previous_attempts: int
    def __init__(self, run_id: _Optional[str] = ..., job_id: _Optional[str] = ..., queue: _Optional[str] = ..., job_set: _Optional[str] = ..., user: _Optional[str] = ..., groups: _Optional[_Iterable[str]] = ..., namespace: _Optional[str] = ..., node: _Optional[str] = ..., pool: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., pod_spec: _Optional[bytes] = ..., priority_class: _Optional[str] = ..., services: _Optional[_Iterable[_Union[ServiceConfig, _Mapping]]] = ..., ingress: _Optional[_Iterable[_Union[IngressConfig, _Mapping]]] = ..., gang: _Optional[_Union[GangInfo, _Mapping]] = ..., previous_attempts: _Optional[int] = ...) -> None: ...

class CancelRuns(_message.Message):
    __slots__ = ("run_ids",)
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, run_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class PreemptRuns(_message.Message):
    __slots__ = ("run_ids",)
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, run_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class EndMarker(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JobRunLeases(_message.Message):
    __slots__ = ("leases",)
    LEASES_FIELD_NUMBER: _ClassVar[int]
    leases: _containers.RepeatedCompositeFieldContainer[JobRunLease]
    def __init__(self, leases: _Optional[_Iterable[_Union[JobRunLease, _Mapping]]] = ...) -> None: ...

class LeaseStreamMessage(_message.Message):
    __slots__ = ("lease", "cancel_runs", "preempt_runs", "end", "leases")
    LEASE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_RUNS_FIELD_NUMBER: _ClassVar[int]
    PREEMPT_RUNS_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    LEASES_FIELD_NUMBER: _ClassVar[int]
    lease: JobRunLease
    cancel_runs: CancelRuns
    preempt_runs: PreemptRuns
    end: EndMarker
    leases: JobRunLeases
    def __init__(self, lease: _Optional[_Union[JobRunLease, _Mapping]] = ..., cancel_runs: _Optional[_Union[CancelRuns, _Mapping]] = ..., preempt_runs: _Optional[_Union[PreemptRuns, _Mapping]] = ..., end: _Optional[_Union[EndMarker, _Mapping]] = ..., leases: _Optional[_Union[JobRunLeases, _Mapping]] = ...) -> None: ...

class RunAssigned(_message.Message):
    __slots__ = ("pod_name", "namespace", "node", "pod_number")
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    POD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    pod_name: str
    namespace: str
    node: str
    pod_number: int
    def __init__(self, pod_name: _Optional[str] = ..., namespace: _Optional[str] = ..., node: _Optional[str] = ..., pod_number: _Optional[int] = ...) -> None: ...

class RunRunning(_message.Message):
    __slots__ = ("pod_name", "namespace", "node", "pod_number")
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    POD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    pod_name: str
    namespace: str
    node: str
    pod_number: int
    def __init__(self, pod_name: _Optional[str] = ..., namespace: _Optional[str] = ..., node: _Optional[str] = ..., pod_number: _Optional[int] = ...) -> None: ...

class RunSucceeded(_message.Message):
    __slots__ = ("pod_name", "node")
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    pod_name: str
    node: str
    def __init__(self, pod_name: _Optional[str] = ..., node: _Optional[str] = ...) -> None: ...

class RunFailed(_message.Message):
    __slots__ = ("reason", "cause", "category", "subcategory", "exit_codes", "container_messages", "node", "pod_name", "namespace")
    class ExitCodesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class ContainerMessagesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REASON_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SUBCATEGORY_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODES_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    reason: str
    cause: str
    category: str
    subcategory: str
    exit_codes: _containers.ScalarMap[str, int]
    container_messages: _containers.ScalarMap[str, str]
    node: str
    pod_name: str
    namespace: str
    def __init__(self, reason: _Optional[str] = ..., cause: _Optional[str] = ..., category: _Optional[str] = ..., subcategory: _Optional[str] = ..., exit_codes: _Optional[_Mapping[str, int]] = ..., container_messages: _Optional[_Mapping[str, str]] = ..., node: _Optional[str] = ..., pod_name: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class RunLeaseReturned(_message.Message):
    __slots__ = ("reason", "run_attempted", "node")
    REASON_FIELD_NUMBER: _ClassVar[int]
    RUN_ATTEMPTED_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    reason: str
    run_attempted: bool
    node: str
    def __init__(self, reason: _Optional[str] = ..., run_attempted: _Optional[bool] = ..., node: _Optional[str] = ...) -> None: ...

class RunCancelled(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RunIngressInfo(_message.Message):
    __slots__ = ("node", "pod_name", "namespace", "addresses")
    class AddressesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: str
        def __init__(self, key: _Optional[int] = ..., value: _Optional[str] = ...) -> None: ...
    NODE_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    node: str
    pod_name: str
    namespace: str
    addresses: _containers.ScalarMap[int, str]
    def __init__(self, node: _Optional[str] = ..., pod_name: _Optional[str] = ..., namespace: _Optional[str] = ..., addresses: _Optional[_Mapping[int, str]] = ...) -> None: ...

class RunUtilisation(_message.Message):
    __slots__ = ("node", "pod_name", "namespace", "max_resources", "avg_resources", "total_cumulative_usage")
    class MaxResourcesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AvgResourcesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class TotalCumulativeUsageEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NODE_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    MAX_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    AVG_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CUMULATIVE_USAGE_FIELD_NUMBER: _ClassVar[int]
    node: str
    pod_name: str
    namespace: str
    max_resources: _containers.ScalarMap[str, str]
    avg_resources: _containers.ScalarMap[str, str]
    total_cumulative_usage: _containers.ScalarMap[str, str]
    def __init__(self, node: _Optional[str] = ..., pod_name: _Optional[str] = ..., namespace: _Optional[str] = ..., max_resources: _Optional[_Mapping[str, str]] = ..., avg_resources: _Optional[_Mapping[str, str]] = ..., total_cumulative_usage: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RunEvent(_message.Message):
    __slots__ = ("job_id", "run_id", "created", "assigned", "running", "succeeded", "failed", "lease_returned", "cancelled", "ingress_info", "utilisation")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    LEASE_RETURNED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    INGRESS_INFO_FIELD_NUMBER: _ClassVar[int]
    UTILISATION_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    run_id: str
    created: float
    assigned: RunAssigned
    running: RunRunning
    succeeded: RunSucceeded
    failed: RunFailed
    lease_returned: RunLeaseReturned
    cancelled: RunCancelled
    ingress_info: RunIngressInfo
    utilisation: RunUtilisation
    def __init__(self, job_id: _Optional[str] = ..., run_id: _Optional[str] = ..., created: _Optional[float] = ..., assigned: _Optional[_Union[RunAssigned, _Mapping]] = ..., running: _Optional[_Union[RunRunning, _Mapping]] = ..., succeeded: _Optional[_Union[RunSucceeded, _Mapping]] = ..., failed: _Optional[_Union[RunFailed, _Mapping]] = ..., lease_returned: _Optional[_Union[RunLeaseReturned, _Mapping]] = ..., cancelled: _Optional[_Union[RunCancelled, _Mapping]] = ..., ingress_info: _Optional[_Union[RunIngressInfo, _Mapping]] = ..., utilisation: _Optional[_Union[RunUtilisation, _Mapping]] = ...) -> None: ...

class EventList(_message.Message):
    __slots__ = ("executor_id", "events")
    EXECUTOR_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    executor_id: str
    events: _containers.RepeatedCompositeFieldContainer[RunEvent]
    def __init__(self, executor_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[RunEvent, _Mapping]]] = ...) -> None: ...

class ReportEventsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

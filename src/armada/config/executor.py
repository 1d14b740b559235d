"""Settings of one executor (``armada executor``): its identity, its cluster, its checks.

One executor looks after one cluster. These settings say which scheduler it leases from, how
often it heartbeats, how it reports, which backend stands for the cluster (``fake``, ``process``
or ``kubernetes``), how stuck pods are recognised and how failures are categorised. Defaults
follow Armada's ``config/executor/config.yaml`` where Armada has one; docs/executor.md lists
every key.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from armada.config.auth import AuthSettings, ClientCredentials, ClientTlsSettings, TlsSettings
from armada.config.base import Duration, Settings
from armada.config.http import HttpSettings, http_on

# ----------------------------------------------------------------------------------------------
# Simulated clusters


class TaintSettings(Settings):
    """A node taint of a simulated node."""

    key: str = Field("", description="The taint key.")
    value: str = Field("", description="The taint value.")
    effect: str = Field("NoSchedule", description="NoSchedule, PreferNoSchedule or NoExecute.")


class NodeGroupSettings(Settings):
    """A group of identical simulated nodes (the fake backend)."""

    name: str = Field("node", description="Prefix of the nodes' names: <name>-0, <name>-1, ...")
    count: int = Field(10, ge=0, description="How many nodes the group has.")
    resources: dict[str, str] = Field(
        default_factory=lambda: {"cpu": "32", "memory": "256Gi", "ephemeral-storage": "256Gi"},
        description="Allocatable resources of each node, as Kubernetes quantities.",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of each node.")
    taints: list[TaintSettings] = Field(default_factory=list, description="Taints of each node.")
    unschedulable: bool = Field(False, description="Nodes cordoned: no new pods bind to them.")
    non_armada_allocated: dict[str, str] = Field(
        default_factory=dict,
        description="Resources each node spends on pods Armada did not start (daemons).",
    )


class FakeClusterSettings(Settings):
    """The simulated cluster: nodes in groups, pods that "run" for their sleep argument."""

    node_groups: list[NodeGroupSettings] = Field(
        default_factory=lambda: [NodeGroupSettings()],
        description="The cluster's nodes, in groups of identical nodes.",
    )
    startup_delay: Duration = Field(
        timedelta(milliseconds=100),
        description="How long a bound pod stays Pending before its containers start.",
    )
    default_runtime: Duration = Field(
        timedelta(seconds=1),
        description="How long a container runs when neither a sleep nor an annotation says.",
    )
    namespaces: list[str] = Field(
        default_factory=lambda: ["default"],
        description="The namespaces that exist: a pod in any other fails to be created, as on "
        'Kubernetes (namespaces "x" not found).',
    )


class ProcessClusterSettings(Settings):
    """The local-process backend: each pod's containers run as processes on this machine."""

    node_name: str = Field("", description="Name of the one node; empty means the host name.")
    resources: dict[str, str] = Field(
        default_factory=dict,
        description="Allocatable resources, each replacing the machine's own: those not given "
        "are this machine's CPUs and memory (within its cgroup's limits) and the free disk of "
        "log_dir (ephemeral-storage).",
    )
    max_concurrent_pods: int = Field(
        0, ge=0, description="Pods running at once (others wait Pending); 0 means 4 per CPU."
    )
    log_dir: str = Field(
        "", description="Where each run's output is written; empty means a temporary directory."
    )
    work_dir: str = Field(
        "", description="Working directory of containers that set none; empty means log_dir."
    )
    inherit_env: list[str] = Field(
        default_factory=lambda: ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER"],
        description="Variables passed on from the executor's own environment.",
    )
    namespaces: list[str] = Field(
        default_factory=lambda: ["default"],
        description="The namespaces that exist: a pod in any other fails to be created, as on "
        'Kubernetes (namespaces "x" not found).',
    )
    resource_limits: Literal["auto", "cgroup", "rlimit", "off"] = Field(
        "auto",
        description="How containers' memory and cpu limits are enforced: auto uses a cgroup "
        "(v2, else v1) where one can be made, else an address-space rlimit (memory only).",
    )


class IngressSettings(Settings):
    """How ingresses for jobs' ``ingress`` configs are made (Armada's podDefaults.ingress)."""

    hostname_suffix: str = Field(
        "cluster.local", description="Hosts are <port>-<pod>.<namespace>.<suffix>."
    )
    cert_name_suffix: str = Field(
        "ingress-tls-certificate", description="TLS secret <namespace>-<suffix> if none named."
    )
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Annotations added to every ingress."
    )


class KubernetesSettings(Settings):
    """The real-cluster backend (the official Kubernetes client)."""

    kubeconfig: str = Field(
        "", description="Path of a kubeconfig; empty tries in-cluster config, then ~/.kube/config."
    )
    context: str = Field("", description="Kubeconfig context; empty means the current one.")
    api_threads: int = Field(
        8, ge=1, description="Threads making blocking API calls (the client is synchronous)."
    )
    watch_timeout: Duration = Field(
        timedelta(minutes=5), description="Server-side timeout of one pod watch request."
    )
    request_timeout: Duration = Field(
        timedelta(seconds=30), description="Timeout of one non-watch API request."
    )
    ingress: IngressSettings = Field(
        default_factory=IngressSettings, description="How job ingresses are made."
    )
    fatal_pod_submission_errors: list[str] = Field(
        default_factory=lambda: ["admission webhook", r"namespaces \".*\" not found"],
        description="Regexes of API errors on pod creation that fail the job (others return it).",
    )


class BinocularsSettings(Settings):
    """Where ``armada executor`` serves its cluster's job logs (Armada's Binoculars ``Logs``)."""

    host: str = Field("localhost", description="Interface the Binoculars gRPC service listens on.")
    port: int = Field(
        50053,
        ge=0,
        le=65535,
        description="Its port; 0: no Binoculars (armada dev serves logs on its own port).",
    )
    tls: TlsSettings = Field(
        default_factory=TlsSettings, description="TLS on the Binoculars listener."
    )
    queue_api: str = Field(
        "",
        description="host:port of `armada server`'s gRPC API, asked (GetQueue, with the "
        "executor's credentials) which users and groups a queue grants `watch`; empty: only "
        "callers holding watch_all_events may read logs.",
    )
    queue_api_tls: ClientTlsSettings = Field(
        default_factory=ClientTlsSettings, description="TLS towards queueApi."
    )
    queue_cache: Duration = Field(
        timedelta(seconds=30),
        description="How long a queue's permissions, once read, are trusted: a permission "
        "removed from a queue stops letting callers read its logs at most this much later.",
    )


# ----------------------------------------------------------------------------------------------
# Stuck pods and failures


class PendingEventRule(Settings):
    """A rule on the Warning events of a pending pod."""

    regexp: str = Field(..., description="Matched against the event's message.")
    inverse: bool = Field(False, description="Apply the rule to events NOT matching the regexp.")
    action: Literal["fail", "retry"] = Field(
        "retry", description="fail: the job fails; retry: the pod is deleted, lease returned."
    )
    grace: Duration = Field(
        timedelta(0), description="How long the event must persist before acting."
    )


class ContainerWaitingRule(Settings):
    """A rule on the waiting reason of a pending pod's containers."""

    regexp: str = Field(..., description="Matched against the waiting reason.")
    inverse: bool = Field(False, description="Apply to reasons NOT matching the regexp.")
    action: Literal["fail", "retry"] = Field("retry", description="What to do once it applies.")
    grace: Duration = Field(timedelta(0), description="How long it must persist before acting.")


def _default_event_rules() -> list[PendingEventRule]:
    return [
        PendingEventRule(
            regexp="Failed to pull image.*failed to pull and unpack",
            action="fail",
            grace=timedelta(seconds=90),
        ),
        PendingEventRule(
            regexp="Error response from daemon", action="fail", grace=timedelta(seconds=90)
        ),
        PendingEventRule(regexp="nodes are available", inverse=True, grace=timedelta(minutes=5)),
    ]


def _default_waiting_rules() -> list[ContainerWaitingRule]:
    return [
        ContainerWaitingRule(regexp="^InvalidImageName$", action="fail"),
        ContainerWaitingRule(
            regexp="^(ErrImagePull|ImagePullBackOff)$", grace=timedelta(minutes=15)
        ),
        ContainerWaitingRule(regexp=".*", grace=timedelta(minutes=5)),
    ]


class PendingPodChecks(Settings):
    """How a pod that does not start is recognised (Armada's kubernetes.pendingPodChecks)."""

    deadline_for_node_assignment: Duration = Field(
        timedelta(minutes=5),
        description="A pod not bound to its node after this long is deleted, lease returned.",
    )
    deadline_for_updates: Duration = Field(
        timedelta(minutes=5),
        description="A bound pod whose containers report nothing for this long is returned.",
    )
    event_rules: list[PendingEventRule] = Field(
        default_factory=_default_event_rules, description="Rules on the pod's Warning events."
    )
    container_waiting_rules: list[ContainerWaitingRule] = Field(
        default_factory=_default_waiting_rules,
        description="Rules on containers' waiting reasons; the first matching rule applies.",
    )


class ExitCodeMatch(Settings):
    """Matches a failed container's exit code."""

    operator: Literal["In", "NotIn"] = Field("In", description="In or NotIn the values.")
    values: list[int] = Field(default_factory=list, description="Exit codes.")


class FailureRule(Settings):
    """One way of recognising a category; every matcher set must hold."""

    on_conditions: list[str] = Field(
        default_factory=list, description="Any of OOMKilled, Evicted, DeadlineExceeded."
    )
    on_exit_codes: ExitCodeMatch | None = Field(None, description="A failed container's code.")
    on_termination_message: str = Field("", description="Regexp on containers' messages.")
    on_pod_error: str = Field("", description="Regexp on the pod's failure reason and message.")
    on_pod_events: str = Field("", description="Regexp on the pod's Warning event messages.")
    subcategory: str = Field("", description="Subcategory reported when this rule matches.")


class FailureCategory(Settings):
    """A named category of failures (Armada's application.errorCategories)."""

    name: str = Field(..., description="The category reported, e.g. oom.")
    rules: list[FailureRule] = Field(default_factory=list, description="Any one may match.")


def _default_categories() -> list[FailureCategory]:
    """Armada's development categories (its ``_local/executor/config.yaml``, the configuration
    its testsuite runs against): ``oom`` and ``user_error``, ``uncategorized`` otherwise."""
    return [
        FailureCategory(name="oom", rules=[FailureRule(on_conditions=["OOMKilled"])]),
        FailureCategory(
            name="user_error",
            rules=[
                FailureRule(on_exit_codes=ExitCodeMatch(operator="In", values=[1, 2, 126, 127]))
            ],
        ),
    ]


# ----------------------------------------------------------------------------------------------
# The executor


class ExecutorConfig(Settings):
    """``armada executor``: one per cluster, leasing jobs from the scheduler (docs/executor.md)."""

    cluster_id: str = Field("cluster-1", description="The executor's id towards the scheduler.")
    pool: str = Field("default", description="The pool this cluster's nodes belong to.")
    scheduler_address: str = Field(
        "127.0.0.1:50051", description="host:port of the scheduler's ExecutorApi."
    )
    scheduler_tls: ClientTlsSettings = Field(
        default_factory=ClientTlsSettings, description="TLS towards the scheduler."
    )
    credentials: ClientCredentials = Field(
        default_factory=ClientCredentials,
        description="What the executor presents to the scheduler (needs execute_jobs there).",
    )
    backend: Literal["fake", "process", "kubernetes"] = Field(
        "fake", description="What stands for the cluster."
    )
    node_id_label: str = Field(
        "kubernetes.io/hostname", description="Node label used to pin a pod to its node."
    )
    node_pool_label: str = Field(
        "armadaproject.io/pool", description="Node label that puts a node in another pool."
    )
    heartbeat_interval: Duration = Field(
        timedelta(seconds=5),
        description="A LeaseRequest goes at least this often (jobLeaseRenewalInterval).",
    )
    min_lease_request_interval: Duration = Field(
        timedelta(milliseconds=100),
        description="State changes send a LeaseRequest, but not more often than this.",
    )
    max_leased_jobs: int = Field(
        100, ge=0, description="At most this many leases not yet turned into pods."
    )
    submit_concurrency: int = Field(8, ge=1, description="Pods being created at once.")
    delete_concurrency: int = Field(8, ge=1, description="Pods being deleted at once.")
    event_batch_size: int = Field(1000, ge=1, description="Largest ReportEvents call.")
    event_flush_interval: Duration = Field(
        timedelta(milliseconds=50), description="Longest wait before buffered events are sent."
    )
    event_buffer_limit: int = Field(
        1_000_000,
        ge=1,
        description="Unsent events above this stop new leases (events are never dropped).",
    )
    retry_initial_backoff: Duration = Field(
        timedelta(milliseconds=200), description="First wait after a failed call to the scheduler."
    )
    retry_max_backoff: Duration = Field(
        timedelta(seconds=30), description="Longest wait between retries."
    )
    issue_check_interval: Duration = Field(
        timedelta(seconds=1), description="How often stuck, missing and finished pods are checked."
    )
    pending_pod_checks: PendingPodChecks = Field(
        default_factory=PendingPodChecks, description="How a pod that does not start is handled."
    )
    failed_pod_retry_reasons: list[str] = Field(
        default_factory=lambda: [
            "^OutOf",
            "^UnexpectedAdmissionError$",
            "^NodeAffinity$",
            "^NodeShutdown$",
        ],
        description="Regexps on a failed pod's reason that return the lease instead of failing.",
    )
    submitted_pod_missing_after: Duration = Field(
        timedelta(minutes=15),
        description="A created pod never seen after this long: lease returned.",
    )
    active_deadline_grace: Duration = Field(
        timedelta(minutes=1),
        description="A pod still active this long past its activeDeadlineSeconds and grace "
        "period is failed by the executor (the kubelet should have stopped it).",
    )
    pod_kill_timeout: Duration = Field(
        timedelta(seconds=30),
        description="A pod still there this long after a graceful delete is force-deleted.",
    )
    default_grace_period: Duration = Field(
        timedelta(seconds=30), description="Grace period of deletions when the pod names none."
    )
    minimum_pod_age: Duration = Field(
        timedelta(minutes=3), description="Succeeded pods are deleted once this old."
    )
    failed_pod_expiry: Duration = Field(
        timedelta(minutes=10), description="Failed pods are kept this long (for their logs)."
    )
    max_terminated_pods: int = Field(
        1000, ge=0, description="Finished pods kept at most; the oldest go first."
    )
    resource_cleanup_interval: Duration = Field(
        timedelta(seconds=15), description="How often orphaned services/ingresses are removed."
    )
    utilisation_sample_interval: Duration = Field(
        timedelta(seconds=1),
        description="How often the running pods' CPU and memory use is sampled (Armada's "
        "utilisationReportingInterval); 0 turns usage reports off.",
    )
    utilisation_reporting_interval: Duration = Field(
        timedelta(minutes=5),
        description="A run's usage (the most and the average of its samples) is reported at "
        "most this often, and once more when it ends (Armada's "
        "utilisationEventReportingInterval).",
    )
    finished_run_memory: int = Field(
        100_000, ge=0, description="Finished run ids remembered, so a re-sent lease is ignored."
    )
    failure_categories: list[FailureCategory] = Field(
        default_factory=_default_categories,
        description="Categories of failures, tried in order; the first match is reported.",
    )
    default_failure_category: str = Field(
        "uncategorized",
        description="Category reported when none matches (Armada's defaultCategory); empty "
        "reports none.",
    )
    fake: FakeClusterSettings = Field(
        default_factory=FakeClusterSettings, description="The fake backend's cluster."
    )
    process: ProcessClusterSettings = Field(
        default_factory=ProcessClusterSettings, description="The process backend."
    )
    kubernetes: KubernetesSettings = Field(
        default_factory=KubernetesSettings, description="The Kubernetes backend."
    )
    binoculars: BinocularsSettings = Field(
        default_factory=BinocularsSettings, description="Job logs of this cluster, over gRPC."
    )
    auth: AuthSettings = Field(
        default_factory=AuthSettings,
        description="Who may call its Binoculars and what they may do (the `auth` section of "
        "`armada server`); Binoculars does not start without an authenticator. Not used by "
        "armada dev, whose logs are served by its API.",
    )
    http: HttpSettings = Field(
        default_factory=lambda: http_on(9001), description="Metrics and health checks."
    )

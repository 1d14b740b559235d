"""The internal events: the only way anything in the system changes.

Every change is an :class:`EventSequence` appended to the log: a batch of events about one job
set (or, with an empty ``job_set``, about the control plane: queues, retry policies, executors),
with who caused it. The log is the source of truth; the scheduler's job database, the query
store and the job-set event streams are all rebuilt by replaying it.

The set of events follows Armada's ``armadaevents`` (§2.3 of the reference), simplified where
Armada encodes one fact in several events (e.g. its ``JobErrors`` union is split into the
explicit ``JobFailed``/``JobRejected`` here).
"""

from __future__ import annotations

import msgspec

from armada.domain.jobs import JobSpec
from armada.domain.queues import ExecutorSettings, Queue, RetryPolicy


# gc=False: see SchedulingRequirements (armada.domain.jobs).
class _Event(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="type", gc=False
):
    """Base of all events. The ``type`` tag is the class name."""


class _JobEvent(_Event, frozen=True, kw_only=True):
    job_id: str


# --- from users, through the API server -------------------------------------------------------


class SubmitJob(_Event, frozen=True, kw_only=True, tag=True):
    spec: JobSpec


class ReprioritiseJob(_JobEvent, frozen=True, kw_only=True, tag=True):
    """A user asked for a new priority (external: Reprioritizing)."""

    priority: int


class ReprioritisedJob(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The new priority is in force (external: Reprioritized)."""

    priority: int


class CancelJob(_JobEvent, frozen=True, kw_only=True, tag=True):
    """A user asked to cancel the job (external: Cancelling)."""

    reason: str = ""


class CancelledJob(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The job is cancelled; an active run is stopped by its executor (external: Cancelled)."""

    reason: str = ""


class JobPreemptionRequested(_JobEvent, frozen=True, kw_only=True, tag=True):
    """A user asked to preempt the job's run (external: Preempting)."""

    reason: str = ""


# --- from the scheduler ------------------------------------------------------------------------


class JobValidated(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The submit check found pools where the job can run."""

    pools: tuple[str, ...]


class JobRejected(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The submit check found that the job can never run (external: Failed, cause Rejected)."""

    reason: str


class JobRunLeased(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The scheduler placed the job on a node (external: Leased)."""

    run_id: str
    executor: str
    node: str
    pool: str
    scheduled_at_priority: int = 0
    # For gangs with a node uniformity label: the label value all members were placed on.
    gang_uniformity_value: str = ""


class JobRunPreempted(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The run was preempted; the job ends PREEMPTED (external: Preempted)."""

    run_id: str
    executor: str = ""
    reason: str = ""
    preempting_job_id: str = ""
    requestor: str = ""


class JobRequeued(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The job goes back to the queue after a returned or expired lease."""

    avoid_nodes: tuple[str, ...] = ()


class JobSucceeded(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The job finished successfully (external: Succeeded)."""

    run_id: str = ""
    executor: str = ""
    node: str = ""
    pod_name: str = ""
    namespace: str = ""


class FailureInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Why a run failed, as the executor saw it.

    ``cause`` is Armada's: Error, Evicted, OOM, DeadlineExceeded or Rejected. ``category`` and
    ``subcategory`` come from the executor's failure classifier (e.g. ``oom``, ``user_error``,
    ``uncategorized``, ``internal/job-creation-failed``).
    """

    reason: str
    cause: str = "Error"
    category: str = ""
    subcategory: str = ""
    exit_codes: dict[str, int] = msgspec.field(default_factory=dict)
    container_messages: dict[str, str] = msgspec.field(default_factory=dict)
    node: str = ""
    pod_name: str = ""
    namespace: str = ""
    cluster: str = ""


class JobFailed(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The job failed for good (external: Failed)."""

    failure: FailureInfo
    run_id: str = ""


# --- from executors, relayed by the scheduler --------------------------------------------------


class JobRunAssigned(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The run's pod exists and is bound to its node (external: Pending)."""

    run_id: str
    pod_name: str = ""
    namespace: str = ""
    node: str = ""
    pod_number: int = 0
    executor: str = ""
    pool: str = ""


class JobRunRunning(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The run's containers started (external: Running)."""

    run_id: str
    pod_name: str = ""
    namespace: str = ""
    node: str = ""
    pod_number: int = 0
    executor: str = ""
    pool: str = ""


class JobRunSucceeded(_JobEvent, frozen=True, kw_only=True, tag=True):
    run_id: str
    pod_name: str = ""
    node: str = ""


class JobRunFailed(_JobEvent, frozen=True, kw_only=True, tag=True):
    run_id: str
    failure: FailureInfo


class JobRunLeaseReturned(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The executor gave the run back without fault of the job (external: LeaseReturned)."""

    run_id: str
    reason: str = ""
    run_attempted: bool = False
    node: str = ""
    executor: str = ""
    pod_name: str = ""


class JobRunLeaseExpired(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The executor stopped heartbeating while holding the run (external: LeaseExpired)."""

    run_id: str
    executor: str = ""


class JobRunCancelled(_JobEvent, frozen=True, kw_only=True, tag=True):
    """The executor confirmed that a cancelled or preempted run's pod is gone."""

    run_id: str


class IngressInfo(_JobEvent, frozen=True, kw_only=True, tag=True):
    """Addresses of the run's ingresses/services (external: IngressInfo)."""

    run_id: str
    executor: str = ""
    node: str = ""
    pod_name: str = ""
    namespace: str = ""
    addresses: dict[int, str] = msgspec.field(default_factory=dict)


class JobRunUtilisation(_JobEvent, frozen=True, kw_only=True, tag=True):
    """What the run's pod used over one reporting period: the most and the average of its
    samples, and what it has used in all since it started (external: Utilisation). Resources
    in milli-units, as everywhere (:mod:`armada.domain.resources`): CPU in cores, memory in
    bytes, ``cumulative`` CPU in core-seconds. It changes no state, and may come after the
    run's end (its last period)."""

    run_id: str
    executor: str = ""
    node: str = ""
    pod_name: str = ""
    namespace: str = ""
    max_resources: dict[str, int] = msgspec.field(default_factory=dict)
    avg_resources: dict[str, int] = msgspec.field(default_factory=dict)
    cumulative: dict[str, int] = msgspec.field(default_factory=dict)


# --- the control plane (job_set == "") ----------------------------------------------------------


class QueueCreated(_Event, frozen=True, kw_only=True, tag=True):
    queue: Queue


class QueueUpdated(_Event, frozen=True, kw_only=True, tag=True):
    queue: Queue


class QueueDeleted(_Event, frozen=True, kw_only=True, tag=True):
    name: str


class RetryPolicyUpserted(_Event, frozen=True, kw_only=True, tag=True):
    policy: RetryPolicy


class RetryPolicyDeleted(_Event, frozen=True, kw_only=True, tag=True):
    name: str


class ExecutorSettingsUpserted(_Event, frozen=True, kw_only=True, tag=True):
    settings: ExecutorSettings


class ExecutorSettingsDeleted(_Event, frozen=True, kw_only=True, tag=True):
    executor: str


JobEvent = (
    SubmitJob
    | ReprioritiseJob
    | ReprioritisedJob
    | CancelJob
    | CancelledJob
    | JobPreemptionRequested
    | JobValidated
    | JobRejected
    | JobRunLeased
    | JobRunPreempted
    | JobRequeued
    | JobSucceeded
    | JobFailed
    | JobRunAssigned
    | JobRunRunning
    | JobRunSucceeded
    | JobRunFailed
    | JobRunLeaseReturned
    | JobRunLeaseExpired
    | JobRunCancelled
    | IngressInfo
    | JobRunUtilisation
)
ControlPlaneEvent = (
    QueueCreated
    | QueueUpdated
    | QueueDeleted
    | RetryPolicyUpserted
    | RetryPolicyDeleted
    | ExecutorSettingsUpserted
    | ExecutorSettingsDeleted
)
Event = JobEvent | ControlPlaneEvent

# What an executor reports about a run (the executor API's RunEvent, decoded).
RunEvent = (
    JobRunAssigned
    | JobRunRunning
    | JobRunSucceeded
    | JobRunFailed
    | JobRunLeaseReturned
    | JobRunCancelled
    | IngressInfo
    | JobRunUtilisation
)


class EventSequence(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A batch of events about one job set, appended atomically.

    ``cause`` says what produced it (``submit/<request id>``, ``scheduler/cycle-<n>``,
    ``executor/<cluster>``) so that the history of a job can be told.
    """

    queue: str
    job_set: str
    user: str
    created: float
    events: list[Event]
    groups: tuple[str, ...] = ()
    cause: str = ""


class LogEntry(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An event sequence as stored in the log, with its position (offsets start at 1)."""

    offset: int
    sequence: EventSequence


def event_job_id(event: Event) -> str | None:
    """The job an event is about, or None for control-plane events."""
    if isinstance(event, SubmitJob):
        return event.spec.job_id
    return getattr(event, "job_id", None)

"""Settings of the scheduler service (``armada scheduler``, and the scheduler in ``armada dev``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from armada.config.auth import AuthSettings
from armada.config.base import Duration, Settings
from armada.config.http import HttpSettings, http_on
from armada.config.scheduling import SchedulingSettings
from armada.config.server import GrpcSettings, StorageSettings


class SchedulerLoopSettings(Settings):
    """The scheduler's loop and the lifecycle rules it enforces."""

    schedule_period: Duration = Field(
        timedelta(seconds=10), description="Time between scheduling rounds (Armada: 10s)."
    )
    schedule_new_jobs_after: Duration = Field(
        timedelta(0),
        description="When jobs were submitted since the last round, or runs ended while jobs "
        "wait, run the next one this soon after it instead of waiting the whole "
        "schedulePeriod; 0 turns this off.",
    )
    cycle_period: Duration = Field(
        timedelta(milliseconds=200),
        description="Time between the lighter duties: reading the log, lease expiry, submit "
        "checks, users' preemption requests.",
    )
    executor_timeout: Duration = Field(
        timedelta(minutes=10),
        description="An executor silent this long loses its leases: its runs expire and are "
        "retried elsewhere or failed. Its last known nodes count for the submit check until "
        "then; and after a start over an existing log, the submit check rejects no job for "
        "this long (the executors known before have this long to report their nodes again).",
    )
    executor_stale_after: Duration = Field(
        timedelta(minutes=1),
        description="An executor silent this long gets no new jobs (its leases are kept).",
    )
    max_retries: int = Field(
        3, ge=0, description="Returned or expired leases a job survives before it fails."
    )
    requeue_expired_leases: bool = Field(
        True,
        description="Retry jobs whose executor vanished (up to maxRetries) rather than fail "
        "them; Armada fails them unless its retry engine is on.",
    )
    lease_resend_after: Duration = Field(
        timedelta(seconds=60),
        description="Send a lease again on the same stream if the executor has not "
        "acknowledged it by then (a new stream gets every unacknowledged lease at once).",
    )
    missing_run_grace: Duration = Field(
        timedelta(minutes=1),
        description="A run its executor acknowledged but no longer reports, or one it never "
        "acknowledged on a node it no longer reports, is given back (and the job requeued) "
        "after this long.",
    )
    node_id_label: str = Field(
        "kubernetes.io/hostname", description="Node label pods are pinned to their node with."
    )
    priority_class_name_override: str = Field(
        "", description="Kubernetes priorityClassName written on pods; empty keeps the job's."
    )


class SchedulerSettings(Settings):
    """``armada scheduler``: the scheduling loop, the executor API and the reports."""

    grpc: GrpcSettings = Field(
        default_factory=lambda: GrpcSettings(port=50052),
        description="Where executors and report clients reach the scheduler.",
    )
    http: HttpSettings = Field(
        default_factory=lambda: http_on(9000), description="Metrics and health checks."
    )
    storage: StorageSettings = Field(default_factory=StorageSettings)
    scheduling: SchedulingSettings = Field(default_factory=SchedulingSettings)
    scheduler: SchedulerLoopSettings = Field(default_factory=SchedulerLoopSettings)
    auth: AuthSettings = Field(
        default_factory=AuthSettings,
        description="Who may call: executors need execute_jobs; reports obey watch.",
    )

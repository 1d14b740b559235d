"""Builders of domain objects for tests: small, valid defaults, every field overridable."""

from __future__ import annotations

from typing import Any

from armada.domain import events as ev
from armada.domain.jobs import Gang, JobSpec, SchedulingRequirements, Toleration

DEFAULT_RESOURCES = {"cpu": 1000, "memory": 1024 * 2**20 * 1000}


def requirements(**overrides: Any) -> SchedulingRequirements:
    values: dict[str, Any] = {
        "resources": dict(DEFAULT_RESOURCES),
        "priority_class": "armada-default",
    }
    values.update(overrides)
    return SchedulingRequirements(**values)


def job_spec(job_id: str = "job-1", **overrides: Any) -> JobSpec:
    values: dict[str, Any] = {
        "job_id": job_id,
        "queue": "queue-a",
        "job_set": "set-1",
        "namespace": "default",
        "priority": 0,
        "requirements": requirements(),
        "pod_spec": b"\x0a\x00",
        "submitted": 1_700_000_000.0,
    }
    values.update(overrides)
    return JobSpec(**values)


def sequence(
    *events: ev.Event,
    queue: str = "queue-a",
    job_set: str = "set-1",
    user: str = "alice",
    created: float = 1_700_000_000.0,
    cause: str = "",
) -> ev.EventSequence:
    return ev.EventSequence(
        queue=queue, job_set=job_set, user=user, created=created, events=list(events), cause=cause
    )


def submit(job_id: str = "job-1", **overrides: Any) -> ev.SubmitJob:
    return ev.SubmitJob(spec=job_spec(job_id, **overrides))


def one_of_every_event() -> list[ev.Event]:
    """An instance of every event type, with non-default fields, for codec round trips."""
    from armada.domain.queues import (
        ExecutorSettings,
        PermissionSubject,
        Queue,
        QueuePermission,
        ResourceFractionLimits,
        RetryAction,
        RetryPolicy,
        RetryRule,
    )

    failure = ev.FailureInfo(
        reason="exit 3",
        cause="OOM",
        category="oom",
        subcategory="x",
        exit_codes={"main": 137},
        container_messages={"main": "killed"},
        node="n1",
        pod_name="armada-j-0",
        namespace="ns",
        cluster="c1",
    )
    spec = job_spec(
        "job-x",
        gang=Gang(id="g", cardinality=2, node_uniformity_label="zone"),
        requirements=requirements(
            tolerations=(Toleration(key="gpu", operator="Exists"),), node_selector={"zone": "a"}
        ),
        labels={"a": "b"},
        annotations={"c": "d"},
        client_id="cid",
        fail_fast=True,
    )
    queue = Queue(
        name="q",
        priority_factor=2.0,
        user_owners=("alice",),
        cordoned=True,
        labels={"team": "ml"},
        permissions=(
            QueuePermission(
                subjects=(PermissionSubject(kind="User", name="bob"),), verbs=("submit",)
            ),
        ),
        resource_limits_by_priority_class={
            "armada-default": ResourceFractionLimits(maximum_resource_fraction={"cpu": 0.5})
        },
    )
    return [
        ev.SubmitJob(spec=spec),
        ev.ReprioritiseJob(job_id="j", priority=3),
        ev.ReprioritisedJob(job_id="j", priority=3),
        ev.CancelJob(job_id="j", reason="r"),
        ev.CancelledJob(job_id="j", reason="r"),
        ev.JobPreemptionRequested(job_id="j", reason="r"),
        ev.JobValidated(job_id="j", pools=("default",)),
        ev.JobRejected(job_id="j", reason="too big"),
        ev.JobRunLeased(
            job_id="j",
            run_id="r",
            executor="c1",
            node="n1",
            pool="p",
            scheduled_at_priority=1000,
            gang_uniformity_value="a",
        ),
        ev.JobRunPreempted(
            job_id="j", run_id="r", reason="x", preempting_job_id="k", requestor="u"
        ),
        ev.JobRequeued(job_id="j", avoid_nodes=("n1",)),
        ev.JobSucceeded(job_id="j"),
        ev.JobFailed(job_id="j", failure=failure, run_id="r"),
        ev.JobRunAssigned(
            job_id="j", run_id="r", pod_name="p", namespace="ns", node="n1", pod_number=0
        ),
        ev.JobRunRunning(job_id="j", run_id="r", pod_name="p", namespace="ns", node="n1"),
        ev.JobRunSucceeded(job_id="j", run_id="r"),
        ev.JobRunFailed(job_id="j", run_id="r", failure=failure),
        ev.JobRunLeaseReturned(job_id="j", run_id="r", reason="x", run_attempted=True, node="n1"),
        ev.JobRunLeaseExpired(job_id="j", run_id="r"),
        ev.JobRunCancelled(job_id="j", run_id="r"),
        ev.IngressInfo(job_id="j", run_id="r", addresses={8080: "1.2.3.4:8080"}),
        ev.JobRunUtilisation(
            job_id="j",
            run_id="r",
            executor="c1",
            max_resources={"cpu": 500, "memory": 2**26 * 1000},
            avg_resources={"cpu": 250, "memory": 2**25 * 1000},
            cumulative={"cpu": 30_000},
        ),
        ev.QueueCreated(queue=queue),
        ev.QueueUpdated(queue=queue),
        ev.QueueDeleted(name="q"),
        ev.RetryPolicyUpserted(
            policy=RetryPolicy(
                name="p",
                retry_limit=2,
                default_action=RetryAction.FAIL,
                rules=(RetryRule(action=RetryAction.RETRY, on_category="oom", memory_factor=1.5),),
            )
        ),
        ev.RetryPolicyDeleted(name="p"),
        ev.ExecutorSettingsUpserted(
            settings=ExecutorSettings(executor="c1", cordoned=True, cordon_reason="maint")
        ),
        ev.ExecutorSettingsDeleted(executor="c1"),
    ]

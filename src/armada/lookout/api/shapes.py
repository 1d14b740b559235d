"""Jobs and runs in the shapes of Armada's Lookout v2 API (``internal/lookout/swagger.yaml``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from armada.domain.lifecycle import JobRecord, RunRecord
from armada.domain.states import RunState

RUN_STATES = {
    RunState.LEASED: "RUN_LEASED",
    RunState.PENDING: "RUN_PENDING",
    RunState.RUNNING: "RUN_RUNNING",
    RunState.SUCCEEDED: "RUN_SUCCEEDED",
    RunState.FAILED: "RUN_FAILED",
    RunState.CANCELLED: "RUN_CANCELLED",
    RunState.PREEMPTED: "RUN_PREEMPTED",
    RunState.LEASE_RETURNED: "RUN_LEASE_RETURNED",
    RunState.LEASE_EXPIRED: "RUN_LEASE_EXPIRED",
}
_RESOURCES = (("cpu", "cpu", 1), ("memory", "memory", 1000))
_MORE_RESOURCES = (("ephemeralStorage", "ephemeral-storage", 1000), ("gpu", "nvidia.com/gpu", 1000))


def rfc3339(seconds: float) -> str:
    """A time as go-swagger writes one: UTC, milliseconds, ``Z``."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _exit_code(run: RunRecord) -> int | None:
    if run.state is RunState.SUCCEEDED:
        return 0
    if run.failure is None or not run.failure.exit_codes:
        return None
    codes = list(run.failure.exit_codes.values())
    return next((code for code in codes if code != 0), codes[0])


def run_json(run: RunRecord) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "runId": run.run_id,
        "cluster": run.executor,
        "node": run.node or None,
        "leased": rfc3339(run.leased_at),
        "pending": rfc3339(run.pending_at) if run.pending_at is not None else None,
        "started": rfc3339(run.running_at) if run.running_at is not None else None,
        "finished": rfc3339(run.finished_at) if run.finished_at is not None else None,
        "jobRunState": RUN_STATES[run.state],
        "exitCode": _exit_code(run),
        "pool": run.pool or None,
        "ingressAddresses": {str(port): address for port, address in run.ingress_addresses.items()},
    }
    if run.failure is not None and run.failure.category:
        shape["failureCategory"] = run.failure.category
        if run.failure.subcategory:
            shape["failureSubcategory"] = run.failure.subcategory
    return shape


def _runtime(run: RunRecord | None, now: float) -> int:
    if run is None or run.running_at is None:
        return 0
    end = run.finished_at if run.finished_at is not None else now
    return max(0, int(end - run.running_at))


def job_json(job: JobRecord, now: float) -> dict[str, Any]:
    spec = job.spec
    run = job.latest_run
    resources = spec.requirements.resources
    shape: dict[str, Any] = {
        "jobId": spec.job_id,
        "queue": spec.queue,
        "owner": spec.owner,
        "namespace": spec.namespace or None,
        "jobSet": spec.job_set,
    }
    for key, name, unit in (*_RESOURCES, *_MORE_RESOURCES):
        shape[key] = resources.get(name, 0) // unit
    shape.update(
        {
            "priority": job.priority,
            "priorityClass": spec.priority_class or None,
            "submitted": rfc3339(job.submitted_at),
            "cancelled": rfc3339(job.cancelled_at) if job.cancelled_at is not None else None,
            "state": job.state.value,
            "lastTransitionTime": rfc3339(job.last_transition),
            "lastActiveRunId": run.run_id if run is not None else None,
            "duplicate": False,
            "annotations": dict(spec.annotations),
            "runs": [run_json(r) for r in job.runs],
            "cancelReason": job.cancel_reason or None,
            "cancelUser": job.cancel_user or None,
            "node": (run.node or None) if run is not None else None,
            "cluster": run.executor if run is not None else "",
            "pool": (run.pool or None) if run is not None else None,
            "exitCode": _exit_code(run) if run is not None else None,
            "runtimeSeconds": _runtime(run, now),
        }
    )
    return shape

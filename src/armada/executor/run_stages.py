"""A run's life on the executor, written down once: its stages, why its pod is being deleted,
and the tables of moves between them.

:class:`~armada.executor.runs.RunTracker` changes a run's :class:`Stage` and :class:`Stop` only
through :meth:`TrackedRun.move` and :meth:`TrackedRun.stop_for`, which raise
:class:`~armada.domain.states.InvalidTransition` for a move not in :data:`STAGE_TRANSITIONS` /
:data:`STOP_TRANSITIONS`. Every edge is named by the tracker's stimulus that drives it (the
method called) and says why, in the words docs/executor.md shows: its tables are generated from
these (``python -m armada.docgen``) and a test keeps them current. :func:`check_runs` holds the
invariants across a tracker's records; the executor tests run it when each test ends.

A run's life on the executor::

    LEASED ──create──▶ SUBMITTING ──ok──▶ SUBMITTED ──pod seen──▶ SEEN ──final event──▶ ENDED
       │                    │ error: failed / lease returned          │
       └─ cancel: Cancelled └──────────────────────────────▶ ENDED    └─ stop (cancel, preempt,
                                                                         return): delete the pod,
                                                                         report when it is gone
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from armada.domain import events as ev
from armada.domain.states import InvalidTransition
from armada.executor.model import LeasedRun, PodPlan, PodView
from armada.executor.observe import ObservedRun, Progress, RunEvent


class Stage(enum.Enum):
    """How far the executor has got with a run's pod."""

    LEASED = "leased"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    SEEN = "seen"
    ENDED = "ended"


class Stop(enum.Enum):
    """Why the executor is deleting a run's pod; decides what is reported once it is gone."""

    CANCEL = "cancel"
    PREEMPT = "preempt"
    RETURN = "return"
    FAIL = "fail"
    CLEANUP = "cleanup"


_L, _SG, _SD, _SN, _E = Stage.LEASED, Stage.SUBMITTING, Stage.SUBMITTED, Stage.SEEN, Stage.ENDED

# Where a record starts: a lease from the scheduler, or a pod found in the cluster.
STAGE_STARTS: dict[Stage, str] = {
    _L: "lease: the scheduler leased the run to this executor",
    _SN: "pod_seen / snapshot: a pod of a run this process did not lease (e.g. after a restart)",
}

STAGE_TRANSITIONS: dict[tuple[Stage, Stage], str] = {
    (_L, _SG): "next_submissions: the pod's name is free and its spec valid: create it",
    (_L, _E): "cancel / tick / next_submissions: cancelled before creation (Cancelled), the pod "
    "name stayed taken by an earlier run (lease returned), or the pod spec is invalid (Failed)",
    (_SG, _SD): "submitted: the create call returned, done or failed (what was made must go)",
    (_SD, _SN): "submitted / pod_seen: the created pod is in the cluster's view",
    (_SD, _E): "submitted / pod_gone / deleted: a fatal create error (Failed), or the pod of a "
    "stopped run is gone (Cancelled or lease returned)",
    (_SN, _E): "pod_seen / pod_gone / deleted / tick: the pod succeeded or failed, the pod of a "
    "stopped run is gone, the pod was deleted by someone else, or a check failed the run",
}

# Stopping a run whose pod may exist; ``None`` is a run not being stopped.
STOP_TRANSITIONS: dict[tuple[Stop | None, Stop], str] = {
    (None, Stop.CANCEL): "cancel: the scheduler cancelled the run; Cancelled once the pod is gone",
    (None, Stop.PREEMPT): "cancel: the scheduler preempted the run; Cancelled once the pod is gone",
    (None, Stop.RETURN): "submitted / pod_seen / tick: the pod could not be created, could not "
    "start for a retryable reason, or never appeared; lease returned once it is gone",
    (None, Stop.FAIL): "submitted / tick: Failed was reported already; the pod goes",
    (None, Stop.CLEANUP): "tick / next_submissions: a finished pod is old enough, beyond the "
    "number kept, or its name is wanted by the job's next run",
    (Stop.RETURN, Stop.CANCEL): "cancel: cancelled while its lease was being returned",
    (Stop.RETURN, Stop.PREEMPT): "cancel: preempted while its lease was being returned",
}

# Stages in which a run may be stopped: it has (or may have) a pod.
_STOPPABLE = {
    Stop.CANCEL: {_SG, _SD, _SN},
    Stop.PREEMPT: {_SG, _SD, _SN},
    Stop.RETURN: {_SD, _SN},
    Stop.FAIL: {_E},
    Stop.CLEANUP: {_E},
}


@dataclass(slots=True)
class TrackedRun:
    """The executor's record of one run: its stage, its pod, and why it is being stopped."""

    run_id: str
    job_id: str
    namespace: str
    pod_name: str
    stage: Stage
    since: float
    node: str = ""
    lease: LeasedRun | None = None
    plan: PodPlan | None = None
    progress: Progress = Progress.NONE
    pod: PodView | None = None
    stop: Stop | None = None
    stop_reason: str = ""
    delete_requested_at: float | None = None
    force_requested: bool = False
    waiting: tuple[tuple[str, str], ...] = ()
    waiting_since: float = 0.0
    ended_at: float | None = None
    final_delivered: bool = False
    outcome: str = ""

    def move(self, stage: Stage, now: float) -> None:
        """Move to ``stage``; raise InvalidTransition unless the table allows it."""
        if (self.stage, stage) not in STAGE_TRANSITIONS:
            raise InvalidTransition(
                f"run {self.run_id}: {self.stage.name} -> {stage.name} is not a valid transition"
            )
        self.stage, self.since = stage, now

    def end(self, now: float, outcome: str) -> None:
        """Move to ENDED: the run's final event is reported (``outcome`` says which)."""
        self.move(Stage.ENDED, now)
        self.ended_at, self.outcome = now, outcome

    def stop_for(self, stop: Stop, reason: str = "") -> None:
        """Start stopping the run (its pod is to go); raise InvalidTransition unless allowed."""
        if (self.stop, stop) not in STOP_TRANSITIONS or self.stage not in _STOPPABLE[stop]:
            old = self.stop.name if self.stop else "None"
            raise InvalidTransition(
                f"run {self.run_id}: stop {old} -> {stop.name} in stage {self.stage.name} "
                "is not a valid transition"
            )
        self.stop = stop
        if reason:
            self.stop_reason = reason

    def observed(self) -> ObservedRun:
        plan = self.plan
        return ObservedRun(
            job_id=self.job_id,
            run_id=self.run_id,
            progress=self.progress,
            ingress_hosts=dict(plan.ingress_hosts) if plan else {},
            service_ports=plan.service_ports if plan else (),
        )


def final_event_when_gone(run: TrackedRun, cluster: str) -> tuple[RunEvent, str] | None:
    """What to report, and the outcome to record, now that a run's pod is gone (None: nothing,
    because the run has ended already, has no pod yet, or the watch is only behind)."""
    job_id, run_id = run.job_id, run.run_id
    if run.stage in (_E, _L, _SG):
        return None
    if run.stop in (Stop.CANCEL, Stop.PREEMPT):
        return ev.JobRunCancelled(job_id=job_id, run_id=run_id), "cancelled"
    if run.stop is Stop.RETURN:
        event = ev.JobRunLeaseReturned(
            job_id=job_id,
            run_id=run_id,
            reason=run.stop_reason,
            run_attempted=run.progress >= Progress.RUNNING,
            node=run.node,
        )
        return event, "lease_returned"
    if run.stage is _SD:
        return None  # created but not yet seen: the watch is behind, not the pod gone
    failure = ev.FailureInfo(
        reason="the pod was deleted by something other than Armada",
        category="internal",
        subcategory="externally-deleted",
        pod_name=run.pod_name,
        namespace=run.namespace,
        cluster=cluster,
    )
    return ev.JobRunFailed(job_id=job_id, run_id=run_id, failure=failure), "failed"


def check_run(run: TrackedRun) -> None:
    """One record's invariants across stage, stop and flags; AssertionError if one breaks."""
    rid = run.run_id
    if run.stop is not None:
        assert run.stage in _STOPPABLE[run.stop] or run.stage is _E, (
            f"{rid}: stop {run.stop.name} in stage {run.stage.name}"
        )
    ended = run.stage is _E
    assert ended == (run.ended_at is not None), f"{rid}: ended_at {run.ended_at} in {run.stage}"
    assert ended == bool(run.outcome), f"{rid}: outcome {run.outcome!r} in {run.stage.name}"
    assert ended or not run.final_delivered, f"{rid}: final event delivered before the end"
    if run.stage in (_SG, _SD):
        assert run.plan is not None, f"{rid}: {run.stage.name} without a plan"
    if run.force_requested:
        assert run.delete_requested_at is not None, f"{rid}: forced deletion never requested"


def check_runs(
    runs: Mapping[str, TrackedRun],
    queued: Collection[str],
    pod_owners: Mapping[tuple[str, str], str],
    finished: Collection[str],
    finished_memory: int,
) -> None:
    """A tracker's invariants (raise AssertionError if one breaks): each record's own, the
    queue of leases holding exactly the LEASED runs, pod names owned by known runs, and
    forgotten runs forgotten."""
    for run_id, run in runs.items():
        assert run.run_id == run_id, f"{run_id} filed under the wrong id"
        check_run(run)
        holds_name = pod_owners.get((run.namespace, run.pod_name)) == run_id
        assert not (run.stage is _E and run.final_delivered and run.pod is None) or holds_name, (
            f"{run_id}: ended, delivered and its pod gone, yet not forgotten"
        )
    leased = [r for r in runs if runs[r].stage is _L]
    assert sorted(queued) == sorted(leased), f"queue {list(queued)} != leased runs {leased}"
    for (namespace, name), owner in pod_owners.items():
        assert owner in runs, f"pod {namespace}/{name} owned by unknown run {owner}"
    remembered = set(finished)
    assert not remembered & set(runs), f"runs both live and finished: {remembered & set(runs)}"
    assert len(remembered) <= finished_memory, "more finished runs remembered than allowed"

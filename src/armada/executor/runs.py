"""The executor's state machine: every run it looks after, and what to do next.

:class:`RunTracker` is the only place the executor's state changes. Its methods take a stimulus
(a lease, a cancellation, a pod seen or gone, the result of a create or delete call, the clock
ticking, events delivered) and return :class:`Instruction` objects: create this pod, delete
that one, report this event. It does no I/O and reads no clock; the agent executes what it
returns. The decisions themselves live in pure functions: ``planning.plan_pod``,
``observe.observe`` and ``podchecks.PendingPodChecker``.

The stages a run goes through, and the table of moves between them, are in
:mod:`armada.executor.run_stages`; every change of stage or stop goes through it.

A record is forgotten once its final event was delivered and its pod is surely gone (no pod it
created may still hold the pod's name); its run id is remembered a while longer so that a lease
re-sent for it is ignored (no run ever starts twice).
"""

from __future__ import annotations

import dataclasses
import re
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence

from armada.config.executor import ExecutorConfig
from armada.domain import events as ev
from armada.executor.classify import DEADLINE_EXCEEDED, FailureClassifier, describe_failure
from armada.executor.instructions import (
    CreatePod,
    DeletePod,
    Instruction,
    ReportEvent,
    SubmitError,
)
from armada.executor.model import JOB_ID_LABEL, LeasedRun, PodEvent, PodView
from armada.executor.observe import Observation, ObserveRules, Progress, RunEvent, observe
from armada.executor.planning import plan_pod, pod_name
from armada.executor.podchecks import PendingPodChecker, past_active_deadline, waiting_signature
from armada.executor.podspec import InvalidPodSpec, grace_period
from armada.executor.run_stages import (
    Stage,
    Stop,
    TrackedRun,
    check_runs,
    final_event_when_gone,
)


class RunTracker:
    """All runs of one executor and the rules that move them (pure: no I/O, no clock)."""

    def __init__(self, settings: ExecutorConfig) -> None:
        self._settings = settings
        self._rules = ObserveRules(
            classifier=FailureClassifier(
                settings.failure_categories, settings.default_failure_category
            ),
            retry_reasons=[re.compile(p) for p in settings.failed_pod_retry_reasons],
            cluster=settings.cluster_id,
        )
        self._checker = PendingPodChecker(settings.pending_pod_checks)
        self._runs: dict[str, TrackedRun] = {}
        self._queued: deque[str] = deque()
        self._pod_owner: dict[tuple[str, str], str] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()

    # --- views ------------------------------------------------------------------------------

    def get(self, run_id: str) -> TrackedRun | None:
        return self._runs.get(run_id)

    def __len__(self) -> int:
        return len(self._runs)

    def runs(self) -> list[TrackedRun]:
        return list(self._runs.values())

    def active_run_ids(self) -> list[str]:
        """Runs the scheduler should consider held by this executor."""
        return [r.run_id for r in self._runs.values() if not r.final_delivered]

    def unassigned_run_ids(self) -> list[str]:
        return [
            r.run_id for r in self._runs.values() if r.stage in (Stage.LEASED, Stage.SUBMITTING)
        ]

    def queued_count(self) -> int:
        return len(self._queued)

    def runs_by_node(self) -> dict[str, list[str]]:
        by_node: dict[str, list[str]] = {}
        for record in self._runs.values():
            pod = record.pod
            if pod is not None and pod.node and not pod.terminal:
                by_node.setdefault(pod.node, []).append(record.run_id)
        return by_node

    def live_run_ids(self) -> set[str]:
        """Runs whose services and ingresses must stay."""
        return set(self._runs)

    def pods_needing_events(self, now: float) -> list[tuple[str, str]]:
        """Pending pods old enough for event rules to matter: fetch their events."""
        horizon = min(
            self._checker.earliest_event_grace,
            self._settings.pending_pod_checks.deadline_for_node_assignment.total_seconds(),
        )
        found = []
        for record in self._runs.values():
            pod = record.pod
            if pod is not None and pod.phase == "Pending" and now - pod.created >= horizon:
                found.append((pod.namespace, pod.name))
        return found

    def pod_of_job(self, job_id: str) -> tuple[str, str] | None:
        """(namespace, name) of the job's pod in the cluster, if it has one (a job has one pod
        at most: a new run's pod waits for the name to be free)."""
        for record in self._runs.values():
            if record.job_id == job_id and record.pod is not None:
                return record.namespace, record.pod_name
        return None

    def known(self, run_id: str) -> bool:
        return run_id in self._runs or run_id in self._finished

    def validate(self) -> None:
        """Check every record and the indexes over them; raise AssertionError if one breaks."""
        check_runs(
            self._runs,
            self._queued,
            self._pod_owner,
            self._finished,
            self._settings.finished_run_memory,
        )

    # --- stimuli from the scheduler ---------------------------------------------------------

    def lease(self, lease: LeasedRun, now: float) -> list[Instruction]:
        """A lease arrived; a lease for a run already known (or finished) is ignored."""
        if self.known(lease.run_id):
            return []
        self._runs[lease.run_id] = TrackedRun(
            run_id=lease.run_id,
            job_id=lease.job_id,
            namespace=lease.namespace,
            pod_name=pod_name(lease.job_id),
            stage=Stage.LEASED,
            since=now,
            node=lease.node,
            lease=lease,
        )
        self._queued.append(lease.run_id)
        return []

    def cancel(
        self, run_ids: Iterable[str], now: float, preempt: bool = False
    ) -> list[Instruction]:
        """The scheduler cancelled (or preempted) runs: their pods go, then Cancelled is told."""
        out: list[Instruction] = []
        stop = Stop.PREEMPT if preempt else Stop.CANCEL
        reason = "preempted" if preempt else "cancelled"
        for run_id in run_ids:
            record = self._runs.get(run_id)
            if record is None or record.stage is Stage.ENDED:
                continue
            if record.stage is Stage.LEASED:
                self._queued.remove(run_id)
                out.extend(
                    self._end(
                        record,
                        ev.JobRunCancelled(job_id=record.job_id, run_id=run_id),
                        now,
                        "cancelled",
                    )
                )
                continue
            if record.stop in (Stop.CANCEL, Stop.PREEMPT):
                continue
            record.stop_for(stop, reason)
            if record.stage is not Stage.SUBMITTING:
                out.extend(self._delete(record, now))
        return out

    # --- submissions ------------------------------------------------------------------------

    def next_submissions(self, limit: int, now: float) -> list[Instruction]:
        """Up to ``limit`` pods to create now, in lease order."""
        out: list[Instruction] = []
        blocked: list[str] = []
        while self._queued and len(out) < limit:
            run_id = self._queued.popleft()
            record = self._runs[run_id]
            assert record.lease is not None
            owner = self._pod_owner.get((record.namespace, record.pod_name))
            if owner is not None and owner != run_id:
                out.extend(self._clear_name(owner, now))
                blocked.append(run_id)
                continue
            try:
                plan = plan_pod(record.lease, self._settings)
            except InvalidPodSpec as exc:
                out.extend(self._fail_creation(record, f"job {record.job_id}: {exc}", now))
                continue
            record.plan = plan
            record.move(Stage.SUBMITTING, now)
            # The name is taken from now on: another run of the job waits until this pod is gone.
            self._pod_owner[(record.namespace, record.pod_name)] = run_id
            out.append(CreatePod(plan))
        self._queued.extendleft(reversed(blocked))
        return out

    def _clear_name(self, owner: str, now: float) -> list[Instruction]:
        """Another run of the same job still has the pod name: delete its pod if it ended."""
        record = self._runs.get(owner)
        if record is None or record.stage is not Stage.ENDED or record.stop is not None:
            return []
        record.stop_for(Stop.CLEANUP)
        return self._delete(record, now)

    def submitted(self, run_id: str, error: SubmitError | None, now: float) -> list[Instruction]:
        """The create call for ``run_id`` returned (``error`` None means the pod exists)."""
        record = self._runs.get(run_id)
        if record is None or record.stage is not Stage.SUBMITTING:
            return []
        if error is None:
            record.move(Stage.SUBMITTED, now)
            if record.stop is not None:
                return self._delete(record, now)
            if record.pod is None:
                return []
            record.move(Stage.SEEN, now)
            return self._apply(record, observe(record.pod, record.observed(), self._rules), now)
        # Whatever part was created goes; what is reported waits until the pod is surely gone.
        record.move(Stage.SUBMITTED, now)
        if record.stop is not None:
            return self._delete(record, now)
        if error.fatal:
            out = self._fail_creation(record, error.message, now)
            record.stop_for(Stop.FAIL)
            return out + self._delete(record, now)
        record.stop_for(Stop.RETURN, f"pod could not be created: {error.message}")
        return self._delete(record, now)

    def _fail_creation(self, record: TrackedRun, reason: str, now: float) -> list[Instruction]:
        failure = ev.FailureInfo(
            reason=reason,
            category="internal",
            subcategory="job-creation-failed",
            pod_name=record.pod_name,
            namespace=record.namespace,
            cluster=self._settings.cluster_id,
        )
        event = ev.JobRunFailed(job_id=record.job_id, run_id=record.run_id, failure=failure)
        return self._end(record, event, now, "failed")

    # --- stimuli from the cluster -----------------------------------------------------------

    def pod_seen(
        self, pod: PodView, now: float, events: Sequence[PodEvent] = ()
    ) -> list[Instruction]:
        """A pod was added or changed."""
        run_id = pod.run_id
        if not run_id or run_id in self._finished:
            return []
        record = self._runs.get(run_id)
        if record is None:
            record = self._adopt(pod, now)
        record.pod = pod
        record.node = pod.node or record.node
        self._pod_owner[(pod.namespace, pod.name)] = run_id
        if record.stage is Stage.SUBMITTED:
            record.move(Stage.SEEN, now)
        signature = waiting_signature(pod)
        if signature != record.waiting:
            record.waiting, record.waiting_since = signature, now
        if record.stop is not None or record.stage is not Stage.SEEN:
            return []
        return self._apply(record, observe(pod, record.observed(), self._rules, events), now)

    def _adopt(self, pod: PodView, now: float) -> TrackedRun:
        """A pod of a run this process did not lease (e.g. after a restart): look after it."""
        record = TrackedRun(
            run_id=pod.run_id,
            job_id=pod.labels.get(JOB_ID_LABEL, ""),
            namespace=pod.namespace,
            pod_name=pod.name,
            stage=Stage.SEEN,
            since=now,
        )
        self._runs[pod.run_id] = record
        return record

    def _apply(self, record: TrackedRun, seen: Observation, now: float) -> list[Instruction]:
        record.progress = seen.progress
        out: list[Instruction] = [ReportEvent(e, now) for e in seen.events]
        if seen.outcome in ("succeeded", "failed"):
            out[-1] = ReportEvent(seen.events[-1], now, final=True)
            record.end(now, seen.outcome)
        elif seen.outcome == "return":
            record.stop_for(Stop.RETURN, seen.reason)
            out.extend(self._delete(record, now))
        return out

    def pod_gone(self, namespace: str, name: str, run_id: str, now: float) -> list[Instruction]:
        """A pod was deleted (the watch said so, or a delete call found it gone)."""
        record = self._runs.get(run_id)
        if record is None:
            return []
        if self._pod_owner.get((namespace, name)) == run_id:
            del self._pod_owner[(namespace, name)]
        record.pod = None
        out = self._report_stop(record, now)
        self._maybe_forget(record)
        return out

    def _report_stop(self, record: TrackedRun, now: float) -> list[Instruction]:
        final = final_event_when_gone(record, self._settings.cluster_id)
        return [] if final is None else self._end(record, final[0], now, final[1])

    def snapshot(self, pods: Iterable[PodView], now: float) -> list[Instruction]:
        """A full list of the cluster's Armada pods (start, or re-list after a broken watch)."""
        out: list[Instruction] = []
        present: set[str] = set()
        for pod in pods:
            present.add(pod.run_id)
            out.extend(self.pod_seen(pod, now))
        for record in list(self._runs.values()):
            if record.pod is not None and record.run_id not in present:
                out.extend(self.pod_gone(record.namespace, record.pod_name, record.run_id, now))
        return out

    def deleted(self, run_id: str, gone: bool, now: float) -> list[Instruction]:
        """A delete call returned; ``gone`` says the pod no longer exists at all."""
        record = self._runs.get(run_id)
        if record is None or not gone:
            return []
        return self.pod_gone(record.namespace, record.pod_name, run_id, now)

    def delete_failed(self, run_id: str) -> None:
        """A delete call failed: the next tick tries again."""
        record = self._runs.get(run_id)
        if record is not None:
            record.delete_requested_at = None
            record.force_requested = False

    def delivered(self, run_ids: Iterable[str]) -> None:
        """The final events of these runs reached the scheduler."""
        for run_id in run_ids:
            record = self._runs.get(run_id)
            if record is not None:
                record.final_delivered = True
                self._maybe_forget(record)

    # --- time passing -----------------------------------------------------------------------

    def tick(
        self, now: float, events: Mapping[tuple[str, str], Sequence[PodEvent]]
    ) -> list[Instruction]:
        """Periodic checks: stuck pods, slow deletions, missing pods, finished pods to clean."""
        out: list[Instruction] = []
        missing_after = self._settings.submitted_pod_missing_after.total_seconds()
        kill_timeout = self._settings.pod_kill_timeout.total_seconds()
        for record in list(self._runs.values()):
            if record.stop is not None:
                out.extend(self._retry_delete(record, now, kill_timeout))
            elif record.stage is Stage.LEASED and now - record.since >= missing_after:
                self._queued.remove(record.run_id)
                event = ev.JobRunLeaseReturned(
                    job_id=record.job_id,
                    run_id=record.run_id,
                    reason="the pod name stayed in use by an earlier run of the job",
                )
                out.extend(self._end(record, event, now, "lease_returned"))
            elif record.stage is Stage.SUBMITTED and now - record.since >= missing_after:
                record.stop_for(Stop.RETURN, "the created pod never appeared")
                out.extend(self._delete(record, now))
            elif record.stage is Stage.SEEN and record.pod is not None:
                pod = record.pod
                key = (pod.namespace, pod.name)
                out.extend(
                    self._check_deadline(record, pod, now)
                    or self._check_pending(record, pod, events.get(key, ()), now)
                )
        out.extend(self._cleanup(now))
        return out

    def _retry_delete(
        self, record: TrackedRun, now: float, kill_timeout: float
    ) -> list[Instruction]:
        if record.stage is Stage.SUBMITTING or (record.stage is Stage.ENDED and self._gone(record)):
            return []
        if record.delete_requested_at is None:
            return self._delete(record, now)
        if (
            record.pod is not None
            and not record.force_requested
            and now - record.delete_requested_at >= kill_timeout
        ):
            record.force_requested = True
            return [DeletePod(record.run_id, record.namespace, record.pod_name, 0.0, force=True)]
        return []

    def _check_pending(
        self, record: TrackedRun, pod: PodView, events: Sequence[PodEvent], now: float
    ) -> list[Instruction]:
        verdict = self._checker.check(pod, events, record.waiting_since, now)
        if verdict is None:
            return []
        if verdict.action == "retry":
            record.stop_for(Stop.RETURN, verdict.reason)
            return self._delete(record, now)
        return self._fail(record, pod, events, verdict.reason, now)

    def _check_deadline(self, record: TrackedRun, pod: PodView, now: float) -> list[Instruction]:
        """Armada's ActiveDeadlineExceeded: fail a pod the kubelet left active past its
        deadline, as the kubelet would have (reason DeadlineExceeded), then delete it."""
        grace = self._grace(record) + self._settings.active_deadline_grace.total_seconds()
        verdict = past_active_deadline(pod, grace, now)
        if verdict is None:
            return []
        overdue = dataclasses.replace(pod, reason=DEADLINE_EXCEEDED, message=verdict.reason)
        return self._fail(record, overdue, (), verdict.reason, now)

    def _fail(
        self,
        record: TrackedRun,
        pod: PodView,
        events: Sequence[PodEvent],
        reason: str,
        now: float,
    ) -> list[Instruction]:
        """The executor fails a run whose pod still exists: report it, then delete the pod."""
        failure = describe_failure(
            pod, self._rules.classifier, events, reason=reason, cluster=self._settings.cluster_id
        )
        event = ev.JobRunFailed(job_id=record.job_id, run_id=record.run_id, failure=failure)
        out = self._end(record, event, now, "failed")
        record.stop_for(Stop.FAIL)
        return out + self._delete(record, now)

    def _cleanup(self, now: float) -> list[Instruction]:
        """Delete finished pods once old enough, and the oldest beyond the maximum kept."""
        succeeded_age = self._settings.minimum_pod_age.total_seconds()
        failed_age = self._settings.failed_pod_expiry.total_seconds()
        kept: list[TrackedRun] = []
        out: list[Instruction] = []
        for record in self._runs.values():
            if record.stage is not Stage.ENDED or record.pod is None or record.stop is not None:
                continue
            if not record.pod.terminal or record.ended_at is None:
                continue
            age = now - record.ended_at
            if age >= (failed_age if record.outcome == "failed" else succeeded_age):
                record.stop_for(Stop.CLEANUP)
                out.extend(self._delete(record, now))
            else:
                kept.append(record)
        excess = len(kept) - self._settings.max_terminated_pods
        if excess > 0:
            kept.sort(key=lambda r: r.ended_at or 0.0)
            for record in kept[:excess]:
                record.stop_for(Stop.CLEANUP)
                out.extend(self._delete(record, now))
        return out

    # --- shared moves -----------------------------------------------------------------------

    def _grace(self, record: TrackedRun) -> float:
        """The run's pod's termination grace period (the default if the pod names none)."""
        grace = grace_period(record.plan.pod) if record.plan is not None else None
        return self._settings.default_grace_period.total_seconds() if grace is None else grace

    def _delete(self, record: TrackedRun, now: float) -> list[Instruction]:
        record.delete_requested_at = now
        return [DeletePod(record.run_id, record.namespace, record.pod_name, self._grace(record))]

    def _end(
        self, record: TrackedRun, event: RunEvent, now: float, outcome: str
    ) -> list[Instruction]:
        record.end(now, outcome)
        record.progress = Progress.FINISHED
        self._maybe_forget(record)
        return [ReportEvent(event, now, final=True)]

    def _gone(self, record: TrackedRun) -> bool:
        """No pod of the run is seen, and none it created may still hold the pod's name."""
        owner = self._pod_owner.get((record.namespace, record.pod_name))
        return record.pod is None and owner != record.run_id

    def _maybe_forget(self, record: TrackedRun) -> None:
        if record.stage is Stage.ENDED and record.final_delivered and self._gone(record):
            self._runs.pop(record.run_id, None)
            self._finished[record.run_id] = None
            while len(self._finished) > self._settings.finished_run_memory:
                self._finished.popitem(last=False)

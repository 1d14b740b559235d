"""What to tell one executor: leases it has not acknowledged, runs it must stop, and runs it
has lost. The decisions are made against the job database on every LeaseRequest.

* A lease is sent until the executor acknowledges it (lists the run in ``active_run_ids``): once
  on each lease stream (a live stream delivers in order), and again after ``leaseResendAfter``
  as a last resort. The executor ignores a lease for a run it already has, so a repeat can
  never start a job twice.
* A run the executor reports that is no longer active (cancelled, preempted, finished,
  expired, unknown) is to be stopped: ``PreemptRuns`` if it was preempted, else ``CancelRuns``.
* A run the executor acknowledged but stopped reporting, while it is still active here, is
  given back (lease returned) after ``missingRunGrace``: its pod is gone. So is a run it never
  acknowledged on a node it no longer reports (the node was removed): the job is not at
  fault, so it is requeued away from that node, as any returned lease. A run the executor
  lists is never given back, and a report with no nodes at all says nothing about runs.

The runs are found by executor in the job database, not through the executor's reported
nodes, so that a run on a vanished node is neither missed nor taken for a stray to cancel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from armada.domain.lifecycle import JobRecord, RunRecord
from armada.rpc.gen import executorapi_pb2 as pb
from armada.schedulerservice.executors import ExecutorState
from armada.schedulerservice.leases import lease_message
from armada.schedulerservice.rules import RunReport
from armada.schedulerservice.service import SchedulerService

_Held = tuple[JobRecord, RunRecord]  # a job and its active run on the executor


@dataclass
class StreamPlan:
    messages: list[pb.LeaseStreamMessage] = field(default_factory=list)
    lost_runs: list[RunReport] = field(default_factory=list)


def plan_for_executor(
    service: SchedulerService, state: ExecutorState, now: float, *, answer_request: bool
) -> StreamPlan:
    """Messages for one executor; with ``answer_request`` also stops, losses and EndMarker."""
    loop = service.config.loop
    snap = service.jobdb.read()
    runs: dict[str, _Held] = {}
    for job_id in snap.active_on_executor(state.executor_id):
        job = snap.get(job_id)
        run = job.active_run if job is not None else None
        if job is not None and run is not None:
            runs[run.run_id] = (job, run)
    plan = StreamPlan()
    resend = loop.lease_resend_after.total_seconds()
    due = [
        held
        for run_id, held in runs.items()
        if run_id not in state.acknowledged and _send_due(state, run_id, now, resend)
    ]
    if state.max_jobs_to_lease >= 0:
        due = due[: state.max_jobs_to_lease] if answer_request else due
    if due:
        specs = service.storage.store.get_jobs(job.job_id for job, _ in due)
        batch = LeaseBatcher(plan.messages)
        for job, run in due:
            spec = specs.get(job.job_id)
            if spec is None:
                continue
            batch.add(
                lease_message(
                    job, spec.spec, run, loop.node_id_label, loop.priority_class_name_override
                )
            )
            state.sent[run.run_id] = (state.stream, now)
    if not answer_request:
        return plan
    _stops(service, state, runs, plan)
    _losses(state, runs, now, loop.missing_run_grace.total_seconds(), plan)
    _forget_finished(state, runs)
    plan.messages.append(pb.LeaseStreamMessage(end=pb.EndMarker()))
    return plan


def _forget_finished(state: ExecutorState, runs: dict[str, _Held]) -> None:
    """Forget what was sent or acknowledged of runs no longer active here: both would grow by
    every run the executor ever held (millions a day on a busy cluster). So would the runs
    found missing that ended (cancelled, preempted, reported) before ``missingRunGrace``."""
    state.acknowledged.intersection_update(runs)
    if state.missing_since:
        for run_id in [r for r in state.missing_since if r not in runs]:
            del state.missing_since[run_id]
    if len(state.sent) > 2 * len(runs) + 100:  # rebuilt now and then, not on every request
        state.sent = {run_id: sent for run_id, sent in state.sent.items() if run_id in runs}


class LeaseBatcher:
    """Packs leases into ``JobRunLeases`` messages of at most ``MAX_LEASES`` leases and about
    ``MAX_BYTES`` (one gRPC message per lease would cost more than the leases themselves)."""

    MAX_LEASES = 500
    MAX_BYTES = 2**20

    def __init__(self, messages: list[pb.LeaseStreamMessage]) -> None:
        self._messages = messages
        self._current: pb.JobRunLeases | None = None
        self._bytes = 0

    def add(self, lease: pb.JobRunLease) -> None:
        size = lease.ByteSize()
        current = self._current
        if (
            current is None
            or len(current.leases) >= self.MAX_LEASES
            or self._bytes + size > self.MAX_BYTES
        ):
            message = pb.LeaseStreamMessage()
            current = self._current = message.leases
            self._messages.append(message)
            self._bytes = 0
        current.leases.append(lease)
        self._bytes += size


def _send_due(state: ExecutorState, run_id: str, now: float, resend: float) -> bool:
    """Not sent yet, or sent on a stream that has since broken, or long ago. A live stream
    delivers what was sent on it in order: resending on it would only add load."""
    sent = state.sent.get(run_id)
    if sent is None:
        return True
    stream, at = sent
    return stream != state.stream or now - at >= resend


def _stops(
    service: SchedulerService, state: ExecutorState, runs: dict[str, _Held], plan: StreamPlan
) -> None:
    stale = [run_id for run_id in state.active_run_ids if run_id not in runs]
    preempt = [r for r in stale if r in service.preempted_runs]
    cancel = [r for r in stale if r not in service.preempted_runs]
    if preempt:
        plan.messages.append(pb.LeaseStreamMessage(preempt_runs=pb.PreemptRuns(run_ids=preempt)))
    if cancel:
        plan.messages.append(pb.LeaseStreamMessage(cancel_runs=pb.CancelRuns(run_ids=cancel)))
    for run_id in stale:
        state.sent.pop(run_id, None)


def _missing(state: ExecutorState, run: RunRecord) -> str:
    """Why a run active here is gone from the executor's report; empty if it is not.

    A run the executor lists is never missing, whatever its node list says (the pod is
    there; a node list can be short while the cluster's API misbehaves). An unlisted run is
    missing if the executor acknowledged it earlier (its pod went away), or if its node is
    no longer among the nodes the executor reports (the lease can never be acted on)."""
    if run.run_id in state.active_run_ids:
        return ""  # the common case, first: this runs for every run on every LeaseRequest
    if run.run_id in state.acknowledged:
        return "the executor no longer reports this run (its pod is gone)"
    if run.node and state.node_names and run.node not in state.node_names:
        return f"node {run.node} is no longer reported by executor {state.executor_id}"
    return ""


def _losses(
    state: ExecutorState, runs: dict[str, _Held], now: float, grace: float, plan: StreamPlan
) -> None:
    missing_since = state.missing_since
    for run_id, (job, run) in runs.items():
        why = _missing(state, run)
        if not why:
            if missing_since:
                missing_since.pop(run_id, None)
            continue
        since = state.missing_since.setdefault(run_id, now)
        if now - since >= grace:
            del state.missing_since[run_id]
            plan.lost_runs.append(
                RunReport(
                    job_id=job.job_id,
                    run_id=run_id,
                    kind="lease_returned",
                    reason=why,
                    run_attempted=run_id in state.acknowledged,
                )
            )

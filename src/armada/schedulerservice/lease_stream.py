"""What to tell one executor: leases it has not acknowledged, runs it must stop, and runs it
has lost. The decisions are made against the job database on every LeaseRequest.

* A lease is sent until the executor acknowledges it (lists the run in ``active_run_ids``): once
  on each lease stream (a live stream delivers in order), and again after ``leaseResendAfter``
  as a last resort. The executor ignores a lease for a run it already has, so a repeat can
  never start a job twice. A run the executor reported pending or running counts as
  acknowledged even by a scheduler started since (whose acknowledgements are in memory only):
  its lease is never sent again, so that an executor restarted without the run cannot start
  it a second time.
* A run the executor reports that is no longer active (cancelled, preempted, finished,
  expired, unknown) is to be stopped: ``PreemptRuns`` if it was preempted, else ``CancelRuns``.
* A run the executor acknowledged but stopped reporting, while it is still active here, is
  given back (lease returned) after ``missingRunGrace``: its pod is gone. So is a run it never
  acknowledged on a node it no longer reports (the node was removed): the job is not at
  fault, so it is requeued away from that node, as any returned lease. A run the executor
  lists is never given back, and a report with no nodes at all says nothing about runs.

The runs are found by executor (``SchedulerService.runs_on_executor``, kept in step with the
job database), not through the executor's reported nodes, so that a run on a vanished node is
neither missed nor taken for a stray to cancel. An answer costs set operations (in C) over the
executor's runs, and Python work only for what differs between the executor's report and the
job database: job records are read only for leases to send and for unacknowledged runs whose
node may be gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from armada.domain import events as ev
from armada.domain.lifecycle import JobRecord, RunRecord
from armada.domain.states import RunState
from armada.rpc.gen import executorapi_pb2 as pb
from armada.schedulerservice.executors import ExecutorState
from armada.schedulerservice.leases import lease_message
from armada.schedulerservice.service import SchedulerService
from armada.scheduling import JobDbSnapshot

_Held = tuple[JobRecord, RunRecord]  # a job and its active run on the executor


@dataclass
class StreamPlan:
    messages: list[pb.LeaseStreamMessage] = field(default_factory=list)
    lost_runs: list[ev.JobRunLeaseReturned] = field(default_factory=list)


def plan_for_executor(
    service: SchedulerService, state: ExecutorState, now: float, *, answer_request: bool
) -> StreamPlan:
    """Messages for one executor; with ``answer_request`` also stops, losses and EndMarker."""
    loop = service.config.loop
    snap = service.jobdb.read()
    runs = service.runs_on_executor(state.executor_id)  # run id -> job id
    unacknowledged = runs.keys() - state.acknowledged
    plan = StreamPlan()
    resend = loop.lease_resend_after.total_seconds()
    due_ids = [r for r in sorted(unacknowledged) if _send_due(state, r, now, resend)]
    started = _reported_started(snap, runs, [r for r in due_ids if r not in state.sent])
    if started:  # never sent again: the executor already had it (see _reported_started)
        state.acknowledged.update(started)
        unacknowledged.difference_update(started)
        due_ids = [r for r in due_ids if r not in started]
    if state.max_jobs_to_lease >= 0 and answer_request:
        due_ids = due_ids[: state.max_jobs_to_lease]
    due = [held for held in (_held(snap, runs, r) for r in due_ids) if held is not None]
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
    grace = loop.missing_run_grace.total_seconds()
    _losses(snap, state, runs, unacknowledged, now=now, grace=grace, plan=plan)
    _forget_finished(state, runs)
    plan.messages.append(pb.LeaseStreamMessage(end=pb.EndMarker()))
    return plan


def _held(snap: JobDbSnapshot, runs: Mapping[str, str], run_id: str) -> _Held | None:
    job = snap.get(runs[run_id])
    run = job.active_run if job is not None else None
    if job is None or run is None or run.run_id != run_id:
        return None  # cannot be: the runs are kept in step with the job database
    return job, run


def _reported_started(snap: JobDbSnapshot, runs: Mapping[str, str], run_ids: list[str]) -> set[str]:
    """Of runs never sent by this scheduler, those the executor already reported pending or
    running: it had them, though this scheduler (started since) never saw it say so. Their
    lease is not sent again: an executor that lost such a run (restarted on a backend that
    keeps no state) would start it a second time. They count as acknowledged instead, so that
    an executor that no longer lists one has it given back after ``missingRunGrace``."""
    started = set()
    for run_id in run_ids:
        held = _held(snap, runs, run_id)
        if held is not None and held[1].state is not RunState.LEASED:
            started.add(run_id)
    return started


def _forget_finished(state: ExecutorState, runs: Mapping[str, str]) -> None:
    """Forget what was sent or acknowledged of runs no longer active here: both would grow by
    every run the executor ever held (millions a day on a busy cluster). (The runs found
    missing that ended before ``missingRunGrace`` are forgotten by :func:`_losses`.)"""
    gone = state.acknowledged.difference(runs)
    if gone:
        state.acknowledged.difference_update(gone)
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
    service: SchedulerService, state: ExecutorState, runs: Mapping[str, str], plan: StreamPlan
) -> None:
    stale = sorted(state.active_run_ids.difference(runs))
    preempt = [r for r in stale if r in service.preempted_runs]
    cancel = [r for r in stale if r not in service.preempted_runs]
    if preempt:
        plan.messages.append(pb.LeaseStreamMessage(preempt_runs=pb.PreemptRuns(run_ids=preempt)))
    if cancel:
        plan.messages.append(pb.LeaseStreamMessage(cancel_runs=pb.CancelRuns(run_ids=cancel)))
    for run_id in stale:
        state.sent.pop(run_id, None)


def _missing(
    snap: JobDbSnapshot, state: ExecutorState, runs: Mapping[str, str], unacknowledged: set[str]
) -> dict[str, str]:
    """The runs active here that are gone from the executor's report, and why.

    A run the executor lists is never missing, whatever its node list says (the pod is
    there; a node list can be short while the cluster's API misbehaves). An unlisted run is
    missing if the executor acknowledged it earlier (its pod went away), or if its node is
    no longer among the nodes the executor reports (the lease can never be acted on)."""
    listed = state.active_run_ids
    missing = {
        run_id: "the executor no longer reports this run (its pod is gone)"
        for run_id in state.acknowledged.difference(listed)
        if run_id in runs
    }
    if state.node_names:
        for run_id in unacknowledged.difference(listed):
            held = _held(snap, runs, run_id)
            node = held[1].node if held is not None else ""
            if node and node not in state.node_names:
                missing[run_id] = (
                    f"node {node} is no longer reported by executor {state.executor_id}"
                )
    return missing


def _losses(
    snap: JobDbSnapshot,
    state: ExecutorState,
    runs: Mapping[str, str],
    unacknowledged: set[str],
    *,
    now: float,
    grace: float,
    plan: StreamPlan,
) -> None:
    missing = _missing(snap, state, runs, unacknowledged)
    missing_since = state.missing_since
    if missing_since:  # forget runs no longer missing (back, or no longer active here)
        for run_id in [r for r in missing_since if r not in missing]:
            del missing_since[run_id]
    for run_id in sorted(missing):
        since = missing_since.setdefault(run_id, now)
        if now - since >= grace:
            del missing_since[run_id]
            plan.lost_runs.append(
                ev.JobRunLeaseReturned(
                    job_id=runs[run_id],
                    run_id=run_id,
                    reason=missing[run_id],
                    run_attempted=run_id in state.acknowledged,
                )
            )

"""schedulerobjects.SchedulerReporting: "why is my job not scheduled?" over gRPC.

Wire-compatible with Armada's service, so armadactl (ours or Armada's) and the web UI can ask.
Reports come from the last rounds the scheduler kept (``reportRoundsKept``). ``GetQueueShares``
is our own addition: the queues page's figures, for a Lookout in another process.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc

from armada.domain.lifecycle import JobRecord
from armada.rpc.gen import scheduler_reporting_pb2 as pb
from armada.rpc.gen import scheduler_reporting_pb2_grpc as pb_grpc
from armada.schedulerservice.runtime import SchedulerRuntime
from armada.scheduling.reports import job_report, queue_report, scheduling_report
from armada.security import Permission, PermissionDenied, Security, Unauthenticated


class SchedulerReportingServicer(pb_grpc.SchedulerReportingServicer):  # type: ignore[misc]
    """Reports obey ``watch``: a queue's or a job's report needs watch on its queue (or
    watch_all_events); the whole round's report needs watch_all_events."""

    def __init__(self, runtime: SchedulerRuntime, security: Security) -> None:
        self.runtime = runtime
        self.service = runtime.service
        self.security = security

    async def _require_watch(self, context: Any, queue: str | None) -> None:
        authoriser = self.security.authoriser
        try:
            who = self.security.authenticate_metadata(context.invocation_metadata())
            if authoriser.has(who, Permission.WATCH_ALL_EVENTS):
                return
            found = self.service.storage.store.get_queue(queue) if queue else None
            if found is None:
                authoriser.require(who, Permission.WATCH_ALL_EVENTS)
            else:
                authoriser.require_on_queue(who, found, "watch")
        except Unauthenticated as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
        except PermissionDenied as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))

    def _job_queue(self, job_id: str) -> str | None:
        job = self.service.jobdb.read().get(job_id)
        if job is not None:
            return job.spec.queue
        stored = self.service.storage.store.get_job(job_id)
        return stored.spec.queue if stored is not None else None

    def _job_report(self, job_id: str) -> str:
        snap = self.service.jobdb.read()
        job = snap.get(job_id)
        if job is not None:
            report = job_report(self.service.history, job_id, job.spec.queue, snap.key_of(job).id)
            pending = self.service.submit_check_pending(job_id)
            check = f"Submit check: {pending}.\n" if pending else ""
            return f"Job {job_id} is {job.state.value}.\n{check}{report}{_runs(job)}"
        stored = self.service.storage.store.get_job(job_id)
        if stored is None:
            raise LookupError(f"job {job_id!r} does not exist")
        lines = [f"Job {job_id} is {stored.state.value}; the scheduler no longer considers it."]
        if stored.error:
            lines.append(f"Reason: {stored.error}")
        return "\n".join(lines) + _runs(stored)

    async def GetSchedulingReport(
        self, request: pb.SchedulingReportRequest, context: Any
    ) -> pb.SchedulingReport:
        which = request.WhichOneof("filter")
        if which == "most_recent_for_queue":
            await self._require_watch(context, request.most_recent_for_queue.queue_name)
            text = await self.runtime.call(
                queue_report,
                self.service.history,
                request.most_recent_for_queue.queue_name,
                request.verbosity,
            )
        elif which == "most_recent_for_job":
            text = await self._job(request.most_recent_for_job.job_id, context)
        else:
            await self._require_watch(context, None)
            text = await self.runtime.call(
                scheduling_report, self.service.history, request.verbosity
            )
        return pb.SchedulingReport(report=text)

    async def GetQueueReport(self, request: pb.QueueReportRequest, context: Any) -> pb.QueueReport:
        if not request.queue_name:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "queue_name is required")
        await self._require_watch(context, request.queue_name)
        text = await self.runtime.call(
            queue_report, self.service.history, request.queue_name, request.verbosity or 2
        )
        return pb.QueueReport(report=text)

    async def GetJobReport(self, request: pb.JobReportRequest, context: Any) -> pb.JobReport:
        return pb.JobReport(report=await self._job(request.job_id, context))

    async def GetQueueShares(self, request: pb.QueueSharesRequest, context: Any) -> pb.QueueShares:
        """Every queue's shares in every pool's kept rounds: watch_all_events, as the whole
        round's report (a Lookout asks with its own credentials and filters per caller)."""
        await self._require_watch(context, None)
        rounds = await self.runtime.call(lambda: self.service.history.rounds)
        return pb.QueueShares(
            shares=[
                pb.QueueShare(
                    pool=pool.pool,
                    cycle=result.cycle,
                    started=pool.started,
                    queue=q.queue,
                    fair_share=q.fair_share,
                    adjusted_fair_share=q.adjusted_fair_share,
                    actual_share=q.actual_share,
                    demand=q.demand_share,
                    queued_jobs=q.queued_jobs,
                    running_jobs=q.running_jobs,
                )
                for result in rounds
                for pool in result.pools
                for q in pool.queues
            ]
        )

    async def _job(self, job_id: str, context: Any) -> str:
        if not job_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "job_id is required")
        queue = await self.runtime.call(self._job_queue, job_id)
        if queue is not None:
            await self._require_watch(context, queue)
        try:
            return await self.runtime.call(self._job_report, job_id)
        except LookupError as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
            raise


def _runs(job: JobRecord) -> str:
    """Where and when each of the job's runs went, oldest first ("" if it never ran)."""
    lines = []
    for run in job.runs:
        ended = f", ended {_when(run.finished_at)}" if run.finished_at is not None else ""
        why = run.reason or (run.failure.reason if run.failure is not None else "")
        lines.append(
            f"  run {run.run_id}: {run.state.value} on node {run.node} of executor "
            f"{run.executor} (pool {run.pool}), leased {_when(run.leased_at)}{ended}"
            + (f": {why}" if why else "")
        )
    return "\nRuns:\n" + "\n".join(lines) if lines else ""


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

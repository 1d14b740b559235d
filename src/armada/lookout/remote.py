"""What a lone ``armada lookout`` asks other processes for: the scheduler's reports (the queues
page's shares, polled; a job's or a queue's report, per request) and a job's log, from the
Binoculars of the cluster its latest run went to. ``armada dev`` needs none of this: the
scheduler and the executors run in its process.

Who may ask: lookout checks each caller itself, as it does on its own routes: the caller is
authenticated by lookout's chain and must be able to ``watch`` the queue of the job or the
queue asked about (or hold watch_all_events); the call then goes out with lookout's own
``credentials``, which need watch_all_events at the scheduler and at the Binoculars. Forwarding
the caller's ``authorization`` header instead would fail for a caller who authenticates with
a client certificate (a certificate cannot be forwarded), would hand passwords on to more
processes, and would make the scheduler and every Binoculars trust the same authenticators as
lookout. Lookout reads the queue's permissions from the same store as the API server, so its
check is the one gRPC makes.

The scheduler or a Binoculars that cannot be reached is a 503 naming it, never a 500; the
queues page says so in ``schedulerProblem``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import grpc
from armada_client.armada import binoculars_pb2, binoculars_pb2_grpc

from armada.config.lookout import LookoutSettings
from armada.domain.lifecycle import JobRecord
from armada.lookout.api.extras import QueueFigures, ShareRow, Shares
from armada.lookout.gateway.rules import REPORTING
from armada.rpc.gen import scheduler_reporting_pb2 as pb
from armada.rpc.gen import scheduler_reporting_pb2_grpc as pb_grpc
from armada.security import Permission, PermissionDenied, Security, Unauthenticated
from armada.security.dial import dial
from armada.views.store import QueryStore

log = logging.getLogger(__name__)

T = TypeVar("T")
BINOCULARS = "binoculars.Binoculars"
UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


class Caller:
    """Lookout's own check on whoever asks it to forward a call."""

    def __init__(self, security: Security, store: QueryStore) -> None:
        self.security = security
        self.store = store

    def require_watch(self, metadata: Sequence[tuple[str, str]], queue: str | None) -> None:
        """Unauthenticated or PermissionDenied unless the caller may watch ``queue`` (a queue
        not known, or None: only with watch_all_events). Reads the store: call on a thread."""
        who = self.security.authenticate_metadata(metadata)
        authoriser = self.security.authoriser
        if authoriser.has(who, Permission.WATCH_ALL_EVENTS):
            return
        found = self.store.get_queue(queue) if queue else None
        if found is None:
            authoriser.require(who, Permission.WATCH_ALL_EVENTS)
        else:
            authoriser.require_on_queue(who, found, "watch")

    async def check(self, context: Any, queue: str | None) -> None:
        try:
            await asyncio.to_thread(self.require_watch, context.invocation_metadata(), queue)
        except Unauthenticated as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
        except PermissionDenied as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))

    async def job(self, context: Any, job_id: str) -> JobRecord:
        """The job, once the caller may watch its queue (NOT_FOUND if unknown)."""
        if not job_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "job_id is required")
        job = await asyncio.to_thread(self.store.get_job, job_id)
        if job is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"job {job_id!r} does not exist")
            raise AssertionError("abort raises")
        await self.check(context, job.spec.queue)
        return job


async def forwarded(context: Any, what: str, call: Awaitable[T]) -> T:
    """``call``'s answer; its failure told to the caller: unreachable is UNAVAILABLE naming
    ``what``, lookout's credentials refused is UNAVAILABLE saying so, the rest as it came."""
    try:
        return await call
    except grpc.aio.AioRpcError as exc:
        code, details = exc.code(), exc.details() or ""
        if code in UNREACHABLE:
            message = f"{what} cannot be reached ({code.name}: {details})"
            await context.abort(grpc.StatusCode.UNAVAILABLE, message)
        if code in REFUSED:
            message = f"{what} refused lookout's credentials ({details}); lookout's "
            message += "`credentials` need watch_all_events there"
            await context.abort(grpc.StatusCode.UNAVAILABLE, message)
        await context.abort(code, details)
        raise
    except (OSError, ValueError) as exc:  # lookout's own side: a token file unreadable...
        await context.abort(grpc.StatusCode.UNAVAILABLE, f"asking {what} failed: {exc}")
        raise


class ForwardedReports:
    """``schedulerobjects.SchedulerReporting`` as the REST gateway calls it, answered by the
    scheduler at ``address`` once the caller may watch what it asks about."""

    def __init__(self, channel: grpc.aio.Channel, caller: Caller, what: str, timeout: float):
        self.stub = pb_grpc.SchedulerReportingStub(channel)
        self.caller = caller
        self.what = what
        self.timeout = timeout

    async def GetJobReport(self, request: pb.JobReportRequest, context: Any) -> pb.JobReport:
        await self.caller.job(context, request.job_id)
        call = self.stub.GetJobReport(request, timeout=self.timeout)
        return await forwarded(context, self.what, call)

    async def GetQueueReport(self, request: pb.QueueReportRequest, context: Any) -> pb.QueueReport:
        if not request.queue_name:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "queue_name is required")
        await self.caller.check(context, request.queue_name)
        call = self.stub.GetQueueReport(request, timeout=self.timeout)
        return await forwarded(context, self.what, call)

    async def GetSchedulingReport(
        self, request: pb.SchedulingReportRequest, context: Any
    ) -> pb.SchedulingReport:
        which = request.WhichOneof("filter")
        if which == "most_recent_for_job":
            await self.caller.job(context, request.most_recent_for_job.job_id)
        elif which == "most_recent_for_queue":
            await self.caller.check(context, request.most_recent_for_queue.queue_name)
        else:
            await self.caller.check(context, None)
        call = self.stub.GetSchedulingReport(request, timeout=self.timeout)
        return await forwarded(context, self.what, call)


class ForwardedLogs:
    """``binoculars.Binoculars``'s ``Logs``, answered by the Binoculars of the cluster of the
    job's latest run (``LookoutSettings.binoculars_address``)."""

    def __init__(self, settings: LookoutSettings, caller: Caller) -> None:
        self.settings = settings
        self.caller = caller
        self.timeout = settings.call_timeout.total_seconds()
        self._channels: dict[str, grpc.aio.Channel] = {}

    async def Logs(
        self, request: binoculars_pb2.LogRequest, context: Any
    ) -> binoculars_pb2.LogResponse:
        job = await self.caller.job(context, request.job_id)
        if not job.runs:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"job {request.job_id} has not run: it has no log"
            )
            raise AssertionError("abort raises")
        cluster = max(job.runs, key=lambda run: run.leased_at).executor
        address = self.settings.binoculars_address(cluster)
        if not address:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"no Binoculars is configured for cluster {cluster!r} "
                "(binocularsAddressPattern or binocularsAddresses)",
            )
        stub = binoculars_pb2_grpc.BinocularsStub(self._channel(address))
        what = f"the Binoculars of cluster {cluster} at {address}"
        return await forwarded(context, what, stub.Logs(request, timeout=self.timeout))

    def _channel(self, address: str) -> grpc.aio.Channel:
        channel = self._channels.get(address)
        if channel is None:
            channel = dial(address, self.settings.binoculars_tls, self.settings.credentials)
            self._channels[address] = channel
        return channel

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()


def shares_of(reply: pb.QueueShares) -> Shares:
    return Shares(
        rows=tuple(
            ShareRow(
                pool=s.pool,
                cycle=s.cycle,
                started=s.started,
                queue=s.queue,
                fair_share=s.fair_share,
                adjusted_fair_share=s.adjusted_fair_share,
                actual_share=s.actual_share,
                demand=s.demand,
                queued_jobs=s.queued_jobs,
                running_jobs=s.running_jobs,
            )
            for s in reply.shares
        )
    )


async def poll_shares(
    stub: pb_grpc.SchedulerReportingStub,
    figures: QueueFigures,
    what: str,
    *,
    interval: float,
    timeout: float,
) -> None:
    """Tell ``figures`` the scheduler's rounds every ``interval``, or why they are unknown
    (logged when that changes)."""
    said = ""
    while True:
        try:
            reply = await stub.GetQueueShares(pb.QueueSharesRequest(), timeout=timeout)
            shares = shares_of(reply)
        except grpc.aio.AioRpcError as exc:
            shares = Shares(problem=_problem(what, exc))
        except (OSError, ValueError) as exc:  # lookout's own side: a token file unreadable...
            shares = Shares(problem=f"asking {what} failed: {exc}")
        figures.record(shares)
        if shares.problem != said:
            if shares.problem:
                log.warning("lookout: no queue shares: %s", shares.problem)
            else:
                log.info("lookout: %s answers again", what)
            said = shares.problem
        await asyncio.sleep(interval)


def _problem(what: str, exc: grpc.aio.AioRpcError) -> str:
    if exc.code() in REFUSED:
        return (
            f"{what} refused lookout's credentials ({exc.details()}): they need "
            "watch_all_events there"
        )
    if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
        return f"{what} does not offer GetQueueShares (is it Armada's own scheduler?)"
    return f"{what} cannot be reached ({exc.code().name}: {exc.details()})"


class Forwarding:
    """The servicers a lone lookout forwards through (by service name, for the REST gateway),
    the poller of the queues' shares, and what to close at the end."""

    def __init__(self, settings: LookoutSettings, security: Security, store: QueryStore):
        self.settings = settings
        caller = Caller(security, store)
        self.logs = ForwardedLogs(settings, caller)
        self.servicers: dict[str, object] = {}
        if settings.binoculars_address_pattern or settings.binoculars_addresses:
            self.servicers[BINOCULARS] = self.logs
        self.channel: grpc.aio.Channel | None = None
        self.what = f"the scheduler at {settings.scheduler_address}"
        if settings.scheduler_address:
            self.channel = dial(
                settings.scheduler_address, settings.scheduler_tls, settings.credentials
            )
            timeout = settings.call_timeout.total_seconds()
            self.servicers[REPORTING] = ForwardedReports(self.channel, caller, self.what, timeout)

    def poller(self, figures: QueueFigures) -> Callable[[], Coroutine[Any, Any, None]] | None:
        """What keeps ``figures`` told the scheduler's rounds (None: no scheduler to ask)."""
        if self.channel is None:
            return None
        stub = pb_grpc.SchedulerReportingStub(self.channel)
        figures.record(Shares(problem=f"{self.what} has not been asked yet"))
        return lambda: poll_shares(
            stub,
            figures,
            self.what,
            interval=self.settings.scheduler_poll_interval.total_seconds(),
            timeout=self.settings.call_timeout.total_seconds(),
        )

    async def close(self) -> None:
        await self.logs.close()
        if self.channel is not None:
            await self.channel.close()

"""The executor-facing gRPC API (our ExecutorApi): lease streams and run event reports.

All scheduler state is touched on the scheduler's single worker thread
(:class:`~armada.schedulerservice.runtime.SchedulerRuntime`), so a lease stream, a report and a
scheduling round never race. Messages are decoded by the executor API's one codec
(:mod:`armada.rpc.executor_codec`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc

from armada.eventlog.base import StoreBusy, StoreFull, StoreUnavailable
from armada.eventlog.sqlite_errors import DISK_FULL
from armada.rpc.executor_codec import run_event_from_proto
from armada.rpc.gen import executorapi_pb2 as pb
from armada.rpc.gen import executorapi_pb2_grpc as pb_grpc
from armada.schedulerservice.lease_stream import plan_for_executor
from armada.schedulerservice.runtime import SchedulerRuntime
from armada.security import PermissionDenied, Principal, Security, Unauthenticated

log = logging.getLogger(__name__)


def _newest(
    request: pb.LeaseRequest | None, queued: asyncio.Queue[pb.LeaseRequest | None]
) -> pb.LeaseRequest | None:
    """The newest of the requests that waited while the worker was busy: each one states the
    executor's whole state, so answering the older ones would only add work (and answer from
    stale state). A closed stream (None) stays last in the queue, to end the handler."""
    while request is not None and not queued.empty():
        newer = queued.get_nowait()
        if newer is None:
            queued.put_nowait(None)
            break
        request = newer
    return request


async def check_executor(
    security: Security, context: Any, executor_id: str, who: Principal | None = None
) -> Principal:
    """The caller, if it may lease and report as ``executor_id`` (execute_jobs, and the
    cluster ids its credentials are bound to); else the call ends with UNAUTHENTICATED or
    PERMISSION_DENIED."""
    try:
        if who is None:
            who = security.authenticate_metadata(context.invocation_metadata())
        security.authoriser.executor_may_act_for(who, executor_id)
    except Unauthenticated as exc:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
    except PermissionDenied as exc:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
    assert who is not None
    return who


class ExecutorApiServicer(pb_grpc.ExecutorApiServicer):  # type: ignore[misc]
    def __init__(self, runtime: SchedulerRuntime, security: Security) -> None:
        self.runtime = runtime
        self.service = runtime.service
        self.security = security
        self._streams = itertools.count(1)

    async def ReportEvents(self, request: pb.EventList, context: Any) -> pb.ReportEventsResponse:
        if not request.executor_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "executor_id is required")
        executor_id = request.executor_id
        await check_executor(self.security, context, executor_id)
        reports = [
            run_event_from_proto(event, executor_id)
            for event in request.events
            if event.WhichOneof("event") is not None  # carries nothing: nothing to say
        ]
        try:
            await self.runtime.call(self.service.handle_reports, executor_id, reports)
        except StoreFull:  # the executor keeps the reports and sends them again
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, DISK_FULL)
        except StoreBusy as exc:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
        except StoreUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return pb.ReportEventsResponse()

    def _answer(self, request: pb.LeaseRequest, stream: int) -> list[pb.LeaseStreamMessage]:
        self.service.ingest()  # answer from the newest state (a cancel may have just landed)
        now = self.service.clock.now()
        state = self.service.executors.heartbeat(request, self.service.monotonic(), stream)
        plan = plan_for_executor(self.service, state, now, answer_request=True)
        if plan.lost_runs:
            self.service.handle_reports(request.executor_id, plan.lost_runs)
        return plan.messages

    def _push(self, executor_id: str) -> list[pb.LeaseStreamMessage]:
        state = self.service.executors.get(executor_id)
        if state is None:
            return []
        now = self.service.clock.now()
        return plan_for_executor(self.service, state, now, answer_request=False).messages

    async def LeaseJobRuns(
        self, request_iterator: AsyncIterator[pb.LeaseRequest], context: Any
    ) -> AsyncIterator[pb.LeaseStreamMessage]:
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        stream = next(self._streams)

        def waker() -> None:
            loop.call_soon_threadsafe(wake.set)

        requests: asyncio.Queue[pb.LeaseRequest | None] = asyncio.Queue()
        who: Principal | None = None
        allowed: set[str] = set()

        async def read() -> None:
            try:
                async for request in request_iterator:
                    if request.executor_id in allowed:  # unchecked callers keep no one alive
                        self.service.executors.heard(request.executor_id, self.service.monotonic())
                    await requests.put(request)
            finally:
                await requests.put(None)

        reader = asyncio.create_task(read())
        self.runtime.add_waker(waker)
        executor_id = ""
        next_request = asyncio.create_task(requests.get())
        woken = asyncio.create_task(wake.wait())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {next_request, woken}, return_when=asyncio.FIRST_COMPLETED
                )
                if next_request in done:
                    request = _newest(next_request.result(), requests)
                    if request is None:
                        return
                    next_request = asyncio.create_task(requests.get())
                    if not request.executor_id:
                        await context.abort(
                            grpc.StatusCode.INVALID_ARGUMENT, "executor_id is required"
                        )
                    if request.executor_id not in allowed:
                        who = await check_executor(self.security, context, request.executor_id, who)
                        allowed.add(request.executor_id)
                    executor_id = request.executor_id
                    messages = await self.runtime.call(self._answer, request, stream)
                else:
                    wake.clear()
                    woken = asyncio.create_task(wake.wait())
                    if not executor_id:
                        continue
                    messages = await self.runtime.call(self._push, executor_id)
                for message in messages:
                    yield message
        finally:
            self.runtime.remove_waker(waker)
            for task in (reader, next_request, woken):
                task.cancel()
            await asyncio.gather(reader, next_request, woken, return_exceptions=True)

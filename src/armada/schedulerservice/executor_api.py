"""The executor-facing gRPC API (our ExecutorApi): lease streams and run event reports.

All scheduler state is touched on the scheduler's single worker thread
(:class:`SchedulerRuntime`), so a lease stream, a report and a scheduling round never race.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc

from armada.domain.events import FailureInfo
from armada.eventlog.base import StoreBusy, StoreFull, StoreUnavailable
from armada.eventlog.sqlite_errors import DISK_FULL
from armada.rpc.gen import executorapi_pb2 as pb
from armada.rpc.gen import executorapi_pb2_grpc as pb_grpc
from armada.schedulerservice.lease_stream import plan_for_executor
from armada.schedulerservice.rules import RunReport
from armada.schedulerservice.service import SchedulerService

log = logging.getLogger(__name__)
T = TypeVar("T")


class SchedulerRuntime:
    """Runs the service's work on one worker thread, from asyncio."""

    def __init__(self, service: SchedulerService) -> None:
        self.service = service
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scheduler")
        self._wakers: set[Callable[[], None]] = set()
        service.on_new_leases(self._wake_all)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    def add_waker(self, waker: Callable[[], None]) -> None:
        self._wakers.add(waker)

    def remove_waker(self, waker: Callable[[], None]) -> None:
        self._wakers.discard(waker)

    def _wake_all(self) -> None:
        for waker in list(self._wakers):
            waker()

    async def run(self) -> None:
        """The service's loop: one tick every cyclePeriod, until cancelled."""
        period = self.service.config.loop.cycle_period.total_seconds()
        while True:
            try:
                await self.call(self.service.tick)
            except (StoreFull, StoreBusy, StoreUnavailable) as exc:
                log.warning("scheduler tick: %s; carrying on", exc)
            except Exception:
                log.exception("scheduler tick failed; carrying on")
            await asyncio.sleep(period)

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)


def report_from_proto(event: pb.RunEvent) -> RunReport | None:
    kind = event.WhichOneof("event")
    if kind is None:
        return None
    body = getattr(event, kind)
    fields: dict[str, Any] = {"job_id": event.job_id, "run_id": event.run_id, "kind": kind}
    if kind in ("assigned", "running"):
        fields.update(
            pod_name=body.pod_name,
            namespace=body.namespace,
            node=body.node,
            pod_number=body.pod_number,
        )
    elif kind == "succeeded":
        fields.update(pod_name=body.pod_name, node=body.node)
    elif kind == "failed":
        fields["failure"] = FailureInfo(
            reason=body.reason or "the run failed",
            cause=body.cause or "Error",
            category=body.category,
            subcategory=body.subcategory,
            exit_codes=dict(body.exit_codes),
            container_messages=dict(body.container_messages),
            node=body.node,
            pod_name=body.pod_name,
            namespace=body.namespace,
        )
        fields.update(node=body.node, pod_name=body.pod_name, namespace=body.namespace)
    elif kind == "lease_returned":
        fields.update(reason=body.reason, run_attempted=body.run_attempted, node=body.node)
    elif kind == "ingress_info":
        fields.update(
            node=body.node,
            pod_name=body.pod_name,
            namespace=body.namespace,
            addresses=tuple(sorted(body.addresses.items())),
        )
    return RunReport(**fields)


class ExecutorApiServicer(pb_grpc.ExecutorApiServicer):  # type: ignore[misc]
    def __init__(self, runtime: SchedulerRuntime) -> None:
        self.runtime = runtime
        self.service = runtime.service
        self._streams = itertools.count(1)

    async def ReportEvents(self, request: pb.EventList, context: Any) -> pb.ReportEventsResponse:
        if not request.executor_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "executor_id is required")
        reports = [r for r in map(report_from_proto, request.events) if r is not None]
        try:
            await self.runtime.call(self.service.handle_reports, request.executor_id, reports)
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
        state = self.service.executors.heartbeat(request, now, stream)
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

        async def read() -> None:
            try:
                async for request in request_iterator:
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
                    request = next_request.result()
                    if request is None:
                        return
                    next_request = asyncio.create_task(requests.get())
                    if not request.executor_id:
                        await context.abort(
                            grpc.StatusCode.INVALID_ARGUMENT, "executor_id is required"
                        )
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

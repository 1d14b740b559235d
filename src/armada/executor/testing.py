"""A fake scheduler for testing executors: a real gRPC ExecutorApi server, state in memory.

It hands out the leases it is given (no more than each LeaseRequest asks for, and pushes new
ones between requests as the real scheduler does after a cycle), relays cancellations and
preemptions, and records every LeaseRequest and run event. It can be told to fail the next
``ReportEvents`` calls, and to re-send every lease on a new stream (as a restarted scheduler
that recovered its state would), so that tests can check the executor's idempotency.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable

import grpc
from armada_client.k8s.io.api.core.v1 import generated_pb2 as k8s

from armada.rpc.gen import executorapi_pb2 as pb
from armada.rpc.gen import executorapi_pb2_grpc as pb_grpc
from armada.waiting import wait_until_async


class FakeScheduler(pb_grpc.ExecutorApiServicer):  # type: ignore[misc]
    """In-memory ExecutorApi. Shared state survives :meth:`stop`/:meth:`start` (a restart)."""

    def __init__(self, *, resend_leases_on_connect: bool = False) -> None:
        self.queued: deque[pb.JobRunLease] = deque()
        self.handed_out: dict[str, pb.JobRunLease] = {}
        self.events: list[pb.RunEvent] = []
        self.requests: list[pb.LeaseRequest] = []
        self.fail_reports = 0
        self.report_calls = 0
        self.streams_opened = 0
        self.resend_leases_on_connect = resend_leases_on_connect
        self._cancels: list[str] = []
        self._preempts: list[str] = []
        self._changed = asyncio.Event()
        self._wake_streams = asyncio.Event()
        self._server: grpc.aio.Server | None = None
        self.port = 0

    # --- driving it ---------------------------------------------------------------------------

    def add_lease(self, lease: pb.JobRunLease) -> None:
        self.queued.append(lease)
        self._wake_streams.set()

    def cancel(self, *run_ids: str) -> None:
        self._cancels.extend(run_ids)
        self._wake_streams.set()

    def preempt(self, *run_ids: str) -> None:
        self._preempts.extend(run_ids)
        self._wake_streams.set()

    async def start(self, port: int = 0) -> int:
        server = grpc.aio.server()
        pb_grpc.add_ExecutorApiServicer_to_server(self, server)
        self.port = server.add_insecure_port(f"127.0.0.1:{port or self.port}")
        await server.start()
        self._server = server
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=None)
            self._server = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    # --- what it saw --------------------------------------------------------------------------

    def kinds(self, run_id: str) -> list[str]:
        """The kinds of run events reported for ``run_id``, in order."""
        return [e.WhichOneof("event") or "" for e in self.events if e.run_id == run_id]

    def last_of(self, run_id: str, kind: str) -> pb.RunEvent:
        for event in reversed(self.events):
            if event.run_id == run_id and event.WhichOneof("event") == kind:
                return event
        raise KeyError(f"no {kind} event for run {run_id}")

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """:func:`armada.waiting.wait_until_async`, re-checking whenever something is reported."""
        await wait_until_async(condition, timeout, changed=self._changed)

    # --- the service ------------------------------------------------------------------------

    async def ReportEvents(
        self, request: pb.EventList, context: grpc.aio.ServicerContext
    ) -> pb.ReportEventsResponse:
        self.report_calls += 1
        if self.fail_reports > 0:
            self.fail_reports -= 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "scheduler is busy (test failure)")
        self.events.extend(request.events)
        self._changed.set()
        return pb.ReportEventsResponse()

    async def LeaseJobRuns(
        self,
        request_iterator: AsyncIterator[pb.LeaseRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[pb.LeaseStreamMessage]:
        self.streams_opened += 1
        budget = [0]
        outbox: asyncio.Queue[pb.LeaseStreamMessage] = asyncio.Queue()

        async def read() -> None:
            async for request in request_iterator:
                self.requests.append(request)
                self._changed.set()
                budget[0] = request.max_jobs_to_lease
                for message in self._answer(budget, request):
                    outbox.put_nowait(message)
            outbox.put_nowait(pb.LeaseStreamMessage())  # the executor closed the stream

        reader = asyncio.create_task(read())
        if self.resend_leases_on_connect:
            for resent in _lease_messages(list(self.handed_out.values())):
                outbox.put_nowait(resent)
        try:
            while True:
                message = await self._next(outbox, budget)
                if message is None:
                    continue
                if message.WhichOneof("event") is None:
                    return
                yield message
        finally:
            reader.cancel()

    async def _next(
        self, outbox: asyncio.Queue[pb.LeaseStreamMessage], budget: list[int]
    ) -> pb.LeaseStreamMessage | None:
        if not outbox.empty():
            return outbox.get_nowait()
        self._wake_streams.clear()
        getter = asyncio.ensure_future(outbox.get())
        waker = asyncio.ensure_future(self._wake_streams.wait())
        done, _ = await asyncio.wait([getter, waker], return_when=asyncio.FIRST_COMPLETED)
        waker.cancel()
        if getter in done:
            return getter.result()
        getter.cancel()
        for message in self._pushes(budget):
            outbox.put_nowait(message)
        return None

    def _answer(self, budget: list[int], request: pb.LeaseRequest) -> list[pb.LeaseStreamMessage]:
        del request
        return [*self._pushes(budget), pb.LeaseStreamMessage(end=pb.EndMarker())]

    def _pushes(self, budget: list[int]) -> list[pb.LeaseStreamMessage]:
        leases = []
        while self.queued and budget[0] > 0:
            lease = self.queued.popleft()
            self.handed_out[lease.run_id] = lease
            budget[0] -= 1
            leases.append(lease)
        messages = _lease_messages(leases)
        if self._cancels:
            messages.append(pb.LeaseStreamMessage(cancel_runs=pb.CancelRuns(run_ids=self._cancels)))
            self._cancels = []
        if self._preempts:
            messages.append(
                pb.LeaseStreamMessage(preempt_runs=pb.PreemptRuns(run_ids=self._preempts))
            )
            self._preempts = []
        return messages


def pod_spec_bytes(
    command: list[str],
    *,
    image: str = "busybox:latest",
    cpu: str = "100m",
    memory: str = "64Mi",
    env: dict[str, str] | None = None,
    active_deadline_seconds: int | None = None,
    grace_seconds: int | None = None,
    containers: int = 1,
) -> bytes:
    """A serialized k8s PodSpec with ``containers`` containers running ``command``."""
    spec = k8s.PodSpec()
    for index in range(containers):
        container = spec.containers.add()
        container.name = "main" if index == 0 else f"side-{index}"
        container.image = image
        container.command.extend(command)
        container.resources.requests["cpu"].string = cpu
        container.resources.requests["memory"].string = memory
        container.resources.limits["cpu"].string = cpu
        container.resources.limits["memory"].string = memory
        for name, value in (env or {}).items():
            container.env.add(name=name, value=value)
    if active_deadline_seconds is not None:
        spec.activeDeadlineSeconds = active_deadline_seconds
    if grace_seconds is not None:
        spec.terminationGracePeriodSeconds = grace_seconds
    return spec.SerializeToString()


def lease_message(
    job_id: str,
    *,
    run_id: str = "",
    command: list[str] | None = None,
    node: str = "",
    queue: str = "queue-a",
    job_set: str = "set-1",
    annotations: dict[str, str] | None = None,
    pod_spec: bytes | None = None,
) -> pb.JobRunLease:
    """A JobRunLease for tests: ``run_id`` defaults to ``run-<job_id>``."""
    return pb.JobRunLease(
        run_id=run_id or f"run-{job_id}",
        job_id=job_id,
        queue=queue,
        job_set=job_set,
        user="alice",
        namespace="default",
        node=node,
        annotations=annotations or {},
        pod_spec=pod_spec if pod_spec is not None else pod_spec_bytes(command or ["sleep", "1"]),
    )


def _lease_messages(leases: list[pb.JobRunLease]) -> list[pb.LeaseStreamMessage]:
    """One lease alone, several in one batch, as the real scheduler may send either."""
    if len(leases) == 1:
        return [pb.LeaseStreamMessage(lease=leases[0])]
    if leases:
        return [pb.LeaseStreamMessage(leases=pb.JobRunLeases(leases=leases))]
    return []

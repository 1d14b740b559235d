"""The executor process: talks to the scheduler and the cluster, and does what the tracker says.

:class:`ExecutorAgent` is the I/O shell around :class:`~armada.executor.runs.RunTracker`. It
keeps the scheduler's ``LeaseJobRuns`` stream open (a ``LeaseRequest`` every heartbeat and on
every change of state; leases, cancellations and preemptions back), follows the cluster's pods
through a watch, checks pending and finished pods periodically, and carries out the tracker's
instructions: create a pod, delete one, report an event (through the
:class:`~armada.executor.reporting.EventReporter`). It reconnects with backoff; it leases only
after the first full list of pods, so that after a restart it reports the runs it really has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any

import grpc

from armada.config.executor import ExecutorConfig
from armada.domain import events as ev
from armada.domain.clock import Clock, SystemClock
from armada.executor.cluster import Cluster, ClusterError, PodSnapshot, WatchItem
from armada.executor.instructions import (
    CreatePod,
    DeletePod,
    Instruction,
    ReportEvent,
    SubmitError,
)
from armada.executor.metrics import ExecutorCollector
from armada.executor.model import NodeView, PodPlan, RunResource
from armada.executor.reporting import Backoff, EventReporter
from armada.executor.run_stages import Stage
from armada.executor.runs import RunTracker
from armada.executor.usage import UsageAggregator, UsageSource
from armada.executor.wire import NodeInfoCache, lease_from_proto, lease_request
from armada.rpc.gen import executorapi_pb2 as pb
from armada.rpc.gen import executorapi_pb2_grpc as pb_grpc
from armada.security.dial import dial

log = logging.getLogger(__name__)

_RPC_TIMEOUT = 30.0
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 2**20),
    ("grpc.max_send_message_length", 64 * 2**20),
]


def orphaned_resources(
    resources: Iterable[RunResource], live_run_ids: set[str]
) -> list[RunResource]:
    """Services and ingresses whose run the executor no longer looks after."""
    return [r for r in resources if r.run_id not in live_run_ids]


class ExecutorAgent:
    """One executor: leases runs for ``cluster`` from the scheduler named in its settings."""

    def __init__(
        self,
        *,
        settings: ExecutorConfig,
        cluster: Cluster,
        clock: Clock | None = None,
        channel: grpc.aio.Channel | None = None,
    ) -> None:
        self.settings = settings
        self.cluster = cluster
        self.clock = clock or SystemClock()
        self.tracker = RunTracker(settings)
        self._channel = channel
        self._owns_channel = channel is None
        self._stub: pb_grpc.ExecutorApiStub | None = None
        self.reporter = EventReporter(
            self._send_events,
            on_delivered=self._delivered,
            batch_size=settings.event_batch_size,
            flush_interval=settings.event_flush_interval.total_seconds(),
            buffer_limit=settings.event_buffer_limit,
            backoff=self._backoff(),
        )
        self.synced = asyncio.Event()
        self.connected = asyncio.Event()
        self._state_changed = asyncio.Event()
        self._submit_wake = asyncio.Event()
        self._creating = 0
        self._delete_slots = asyncio.Semaphore(settings.delete_concurrency)
        self._nodes: list[NodeView] = []
        self._node_infos = NodeInfoCache()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.lease_requests_sent = 0
        self.usage = UsageAggregator(
            interval=settings.utilisation_reporting_interval.total_seconds(),
            executor=settings.cluster_id,
        )

    @property
    def nodes(self) -> list[NodeView]:
        """The cluster's nodes, as last listed."""
        return self._nodes

    def _backoff(self) -> Backoff:
        return Backoff(
            self.settings.retry_initial_backoff.total_seconds(),
            self.settings.retry_max_backoff.total_seconds(),
        )

    # --- lifecycle --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set (or the task is cancelled)."""
        if self._channel is None:
            self._channel = dial(
                self.settings.scheduler_address,
                self.settings.scheduler_tls,
                self.settings.credentials,
                _CHANNEL_OPTIONS,
            )
        self._stub = pb_grpc.ExecutorApiStub(self._channel)
        stop = stop or asyncio.Event()
        loops = [
            self._watch_loop(),
            self._node_loop(),
            self._lease_loop(),
            self._submit_loop(),
            self._tick_loop(),
            self._cleanup_loop(),
        ]
        sampling = self.settings.utilisation_sample_interval.total_seconds()
        if sampling > 0 and isinstance(self.cluster, UsageSource):
            loops.append(self._usage_loop(self.cluster, sampling))
        tasks = [asyncio.create_task(loop) for loop in loops]
        reporter = asyncio.create_task(self.reporter.run())
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait(
                [stopper, reporter, *tasks], return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                if task is not stopper:
                    task.result()  # a loop never ends by itself: surface its error
        finally:
            await self._shutdown([stopper, *tasks], reporter)

    async def _shutdown(
        self, tasks: Sequence[asyncio.Task[Any]], reporter: asyncio.Task[None]
    ) -> None:
        for task in [*tasks, *self._tasks]:
            task.cancel()
        await asyncio.gather(*tasks, *self._tasks, return_exceptions=True)
        self.reporter.finish()  # deliver what is buffered, briefly
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(reporter, timeout=2.0)
        if self.reporter.backlog:
            log.error("stopping with %d run events not delivered", self.reporter.backlog)
        if self._owns_channel and self._channel is not None:
            await self._channel.close()
            self._channel = None

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- carrying out instructions ----------------------------------------------------------

    def execute(self, instructions: Iterable[Instruction]) -> None:
        for instruction in instructions:
            if isinstance(instruction, ReportEvent):
                if instruction.final:  # the run's last usage goes before its end
                    self._report_usage([self.usage.flush(instruction.event.run_id)])
                self.reporter.add(instruction)
                if instruction.final:
                    self._state_changed.set()
            elif isinstance(instruction, CreatePod):
                self._creating += 1
                self._spawn(self._create(instruction.plan))
            elif isinstance(instruction, DeletePod):
                self._spawn(self._delete(instruction))

    async def _create(self, plan: PodPlan) -> None:
        error = None
        try:
            await self.cluster.create_run(plan)
        except ClusterError as exc:
            error = SubmitError(str(exc), fatal=exc.fatal)
        except Exception as exc:
            log.exception("creating pod %s failed", plan.pod_name, extra=_ids(plan))
            error = SubmitError(f"unexpected error: {exc}")
        finally:
            self._creating -= 1
        if error is not None:
            log.info("pod %s not created: %s", plan.pod_name, error.message, extra=_ids(plan))
        self.execute(self.tracker.submitted(plan.run_id, error, self.clock.now()))
        self._submit_wake.set()
        self._state_changed.set()

    async def _delete(self, order: DeletePod) -> None:
        async with self._delete_slots:
            try:
                gone = await self.cluster.delete_pod(
                    order.namespace,
                    order.pod_name,
                    run_id=order.run_id,
                    grace=order.grace,
                    force=order.force,
                )
            except Exception as exc:
                log.warning(
                    "deleting pod %s failed, will retry: %s",
                    order.pod_name,
                    exc,
                    extra={"run_id": order.run_id, "executor": self.settings.cluster_id},
                )
                self.tracker.delete_failed(order.run_id)
                return
        self.execute(self.tracker.deleted(order.run_id, gone, self.clock.now()))
        self._submit_wake.set()

    def _delivered(self, run_ids: list[str]) -> None:
        self.tracker.delivered(run_ids)
        self._state_changed.set()

    async def _send_events(self, events: Sequence[pb.RunEvent]) -> None:
        assert self._stub is not None
        request = pb.EventList(executor_id=self.settings.cluster_id, events=events)
        await self._stub.ReportEvents(request, timeout=_RPC_TIMEOUT)

    # --- the scheduler ----------------------------------------------------------------------

    def lease_request(self) -> pb.LeaseRequest:
        tracker = self.tracker
        unassigned = tracker.unassigned_run_ids()
        room = max(0, self.settings.max_leased_jobs - len(unassigned))
        return lease_request(
            executor_id=self.settings.cluster_id,
            pool=self.settings.pool,
            nodes=self._nodes,
            runs_by_node=tracker.runs_by_node(),
            cache=self._node_infos,
            max_jobs_to_lease=0 if self.reporter.over_limit else room,
            active_run_ids=tracker.active_run_ids(),
            unassigned_run_ids=unassigned,
            node_pool_label=self.settings.node_pool_label,
        )

    async def _lease_loop(self) -> None:
        backoff = self._backoff()
        await self.synced.wait()
        if not self._nodes:
            await self._guarded("listing nodes", self._refresh_nodes())
        assert self._stub is not None
        while True:
            call = self._stub.LeaseJobRuns()
            reader = asyncio.create_task(self._read_leases(call, backoff))
            try:
                await self._write_requests(call, reader)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "lease stream to %s broke: %s", self.settings.scheduler_address, _brief(exc)
                )
            finally:
                self.connected.clear()
                call.cancel()
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
            await asyncio.sleep(backoff.next())

    async def _write_requests(self, call: Any, reader: asyncio.Task[None]) -> None:
        loop = asyncio.get_running_loop()
        heartbeat = self.settings.heartbeat_interval.total_seconds()
        gap = self.settings.min_lease_request_interval.total_seconds()
        while not reader.done():
            self._state_changed.clear()
            await call.write(self.lease_request())
            self.lease_requests_sent += 1
            sent_at = loop.time()
            changed = asyncio.create_task(self._state_changed.wait())
            try:
                await asyncio.wait(
                    [changed, reader], timeout=heartbeat, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                changed.cancel()
            if not reader.done():
                await asyncio.sleep(max(0.0, sent_at + gap - loop.time()))
        reader.result()

    async def _read_leases(self, call: Any, backoff: Backoff) -> None:
        while True:
            message = await call.read()
            if message is grpc.aio.EOF:
                raise ConnectionError("the scheduler closed the lease stream")
            self.connected.set()
            now = self.clock.now()
            kind = message.WhichOneof("event")
            if kind == "leases":
                for lease in message.leases.leases:
                    self.execute(self.tracker.lease(lease_from_proto(lease), now))
                self._submit_wake.set()
            elif kind == "lease":
                self.execute(self.tracker.lease(lease_from_proto(message.lease), now))
                self._submit_wake.set()
            elif kind == "cancel_runs":
                self.execute(self.tracker.cancel(message.cancel_runs.run_ids, now))
            elif kind == "preempt_runs":
                self.execute(self.tracker.cancel(message.preempt_runs.run_ids, now, preempt=True))
            elif kind == "end":
                backoff.reset()

    # --- the cluster ------------------------------------------------------------------------

    async def _submit_loop(self) -> None:
        while True:
            await self._submit_wake.wait()
            self._submit_wake.clear()
            room = self.settings.submit_concurrency - self._creating
            if room > 0 and self.tracker.queued_count():
                self.execute(self.tracker.next_submissions(room, self.clock.now()))

    async def _watch_loop(self) -> None:
        backoff = self._backoff()
        while True:
            try:
                async for item in self.cluster.watch_pods():
                    self._on_watch(item)
                    backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("pod watch broke, watching again: %s", _brief(exc))
            await asyncio.sleep(backoff.next())

    def _on_watch(self, item: WatchItem) -> None:
        now = self.clock.now()
        tracker = self.tracker
        if isinstance(item, PodSnapshot):
            self.execute(tracker.snapshot(item.pods, now))
            self.synced.set()
        elif item.kind == "DELETED":
            pod = item.pod
            if tracker.get(pod.run_id) is not None:
                self.execute(tracker.pod_seen(pod, now))
                self.execute(tracker.pod_gone(pod.namespace, pod.name, pod.run_id, now))
        else:
            self.execute(tracker.pod_seen(item.pod, now))
        if tracker.queued_count():
            self._submit_wake.set()

    async def _node_loop(self) -> None:
        while True:
            await self._guarded("listing nodes", self._refresh_nodes())
            await asyncio.sleep(self.settings.heartbeat_interval.total_seconds())

    async def _refresh_nodes(self) -> None:
        self._nodes = await self.cluster.list_nodes()

    async def _tick_loop(self) -> None:
        interval = self.settings.issue_check_interval.total_seconds()
        while True:
            await asyncio.sleep(interval)
            await self._guarded("checking pods", self.check_pods())

    async def check_pods(self) -> None:
        """One round of the periodic checks (stuck, slow to delete, missing, finished pods)."""
        now = self.clock.now()
        wanted = self.tracker.pods_needing_events(now)
        events = await self.cluster.pod_events(wanted) if wanted else {}
        self.execute(self.tracker.tick(now, events))
        if self.tracker.queued_count():
            self._submit_wake.set()

    async def _usage_loop(self, source: UsageSource, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self._guarded("sampling pods' usage", self._sample_usage(source))

    async def _sample_usage(self, source: UsageSource) -> None:
        samples = [s for s in await source.pod_usage() if self._running(s.run_id)]
        self._report_usage(self.usage.add(samples, self.clock.now()))

    def _running(self, run_id: str) -> bool:
        """A run the executor looks after and whose end it has not reported."""
        record = self.tracker.get(run_id)
        return record is not None and record.stage is not Stage.ENDED

    def _report_usage(self, events: Iterable[ev.JobRunUtilisation | None]) -> None:
        now = self.clock.now()
        for event in events:
            if event is not None:
                self.reporter.add(ReportEvent(event, now))

    async def _cleanup_loop(self) -> None:
        interval = self.settings.resource_cleanup_interval.total_seconds()
        while True:
            await asyncio.sleep(interval)
            await self._guarded("cleaning up services and ingresses", self.clean_resources())

    async def clean_resources(self) -> None:
        resources = await self.cluster.list_run_resources()
        for resource in orphaned_resources(resources, self.tracker.live_run_ids()):
            await self.cluster.delete_resource(resource)

    async def _guarded(self, what: str, work: Awaitable[None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s failed: %s", what, _brief(exc))


def _brief(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    return str(exc) or type(exc).__name__


async def run_executor(
    settings: ExecutorConfig,
    cluster: Cluster,
    *,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    metrics: ExecutorCollector | None = None,
) -> None:
    """Run one executor for ``cluster`` until ``stop`` is set or the task is cancelled,
    counted by ``metrics`` if given."""
    agent = ExecutorAgent(settings=settings, cluster=cluster, clock=clock)
    if metrics is not None:
        metrics.add(settings.cluster_id, lambda: agent.nodes, agent.tracker)
    try:
        await agent.run(stop)
    finally:
        if metrics is not None:
            metrics.remove(settings.cluster_id)


def _ids(plan: PodPlan) -> dict[str, str]:
    """The ids a log line about ``plan``'s pod carries (see armada.logformat)."""
    return {"job_id": plan.job_id, "run_id": plan.run_id}

"""Queues: Armada's QueueService (and the legacy queue RPCs of the Submit service).

Every change is a control-plane event in the log (``job_set`` empty); reads come from the
query store. Cordoning a queue stops scheduling from it; it still accepts jobs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from armada_client.armada import submit_pb2, submit_pb2_grpc
from google.protobuf import empty_pb2
from msgspec.structs import replace

from armada.domain import events as ev
from armada.domain.queues import Queue
from armada.domain.quoting import shown
from armada.domain.states import JobState
from armada.eventlog.base import Expect, KeyState
from armada.eventlog.keys import queue_key
from armada.security import Permission, Principal
from armada.server.context import ApiContext, ApiError, invalid, not_found, rpc, stream_rpc
from armada.server.convert_jobs import API_TO_JOB_STATE, api_state_name
from armada.server.convert_queues import InvalidObject, queue_from_proto, queue_to_proto
from armada.server.job_commands import cancel_jobs, preempt_jobs, select_jobs
from armada.views.store import ACTIVE_STATES, NON_TERMINAL_STATES

CANCELLABLE_STATES = {JobState.QUEUED, JobState.LEASED, JobState.PENDING, JobState.RUNNING}


class QueueOperations:
    """The queue operations, free of protobuf servicer plumbing."""

    def __init__(self, api: ApiContext) -> None:
        self.api = api

    def get(self, name: str) -> Queue:
        queue = self.api.storage.store.get_queue(name)
        if queue is None:
            raise not_found(f"queue {shown(name)} does not exist")
        return queue

    def create(self, message: submit_pb2.Queue, who: Principal) -> None:
        self.api.require(who, Permission.CREATE_QUEUE)
        queue = _to_domain(message)
        self.api.append_expecting(
            who,
            ev.QueueCreated(queue=queue),
            "queue/create",
            Expect(queue_key(queue.name), exists=False),
            ApiError(grpc.StatusCode.ALREADY_EXISTS, f"queue {shown(queue.name)} already exists"),
        )

    def update(self, message: submit_pb2.Queue, who: Principal) -> None:
        self.api.require(who, Permission.CREATE_QUEUE)  # Armada's rule for updates too
        queue = _to_domain(message)
        self.api.append_expecting(
            who,
            ev.QueueUpdated(queue=queue),
            "queue/update",
            Expect(queue_key(queue.name), exists=True),
            not_found(f"queue {shown(queue.name)} does not exist"),
        )

    def delete(self, name: str, who: Principal) -> None:
        self.api.require(who, Permission.DELETE_QUEUE)

        def delete_if_empty(state: KeyState) -> None:
            # Submissions touch the queue's key: none can slip in between count and delete.
            active = self.api.storage.store.count_jobs_in_queue(name, NON_TERMINAL_STATES)
            if active:
                raise ApiError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"queue {shown(name)} still has {active} queued or running jobs;"
                    " cancel them first",
                )
            self.api.append_control_plane(
                who,
                ev.QueueDeleted(name=name),
                "queue/delete",
                [Expect(queue_key(name), exists=True, version=state.version)],
            )

        self.api.change_existing(
            queue_key(name), f"queue {shown(name)} does not exist", delete_if_empty
        )

    def set_cordoned(self, name: str, cordoned: bool, who: Principal) -> None:
        self.api.require(who, Permission.CORDON_QUEUE)

        def cordon(state: KeyState) -> None:
            queue = self.get(name)
            if queue.cordoned != cordoned:
                verb = "cordon" if cordoned else "uncordon"
                self.api.append_control_plane(
                    who,
                    ev.QueueUpdated(queue=replace(queue, cordoned=cordoned)),
                    f"queue/{verb}",
                    [Expect(queue_key(name), exists=True, version=state.version)],
                )

        self.api.change_existing(queue_key(name), f"queue {shown(name)} does not exist", cordon)

    def preempt_on_queue(self, request: submit_pb2.QueuePreemptRequest, who: Principal) -> None:
        self.get(request.name)
        self.api.require(who, Permission.PREEMPT_ANY_JOBS, queue=request.name, verb="preempt")
        jobs = self.api.storage.store.jobs_in_queue(request.name, ACTIVE_STATES)
        jobs = select_jobs(jobs, priority_classes=request.priorityClasses, pools=request.pools)
        preempt_jobs(self.api, jobs, who, "preempted on queue", f"queue/preempt/{request.name}")

    def cancel_on_queue(self, request: submit_pb2.QueueCancelRequest, who: Principal) -> None:
        self.get(request.name)
        self.api.require(who, Permission.CANCEL_ANY_JOBS, queue=request.name, verb="cancel")
        states = CANCELLABLE_STATES
        if request.jobStates:
            states = set()
            for value in request.jobStates:
                state = API_TO_JOB_STATE.get(value)
                if state not in CANCELLABLE_STATES:
                    name = api_state_name(value)
                    raise invalid(
                        f"jobStates: {name} jobs cannot be cancelled "
                        "(use QUEUED, LEASED, PENDING or RUNNING)"
                    )
                states.add(state)
        jobs = self.api.storage.store.jobs_in_queue(request.name, states)
        jobs = select_jobs(jobs, priority_classes=request.priorityClasses, pools=request.pools)
        cancel_jobs(self.api, jobs, who, "cancelled on queue", f"queue/cancel/{request.name}")


def _to_domain(message: submit_pb2.Queue) -> Queue:
    try:
        return queue_from_proto(message)
    except InvalidObject as exc:
        raise invalid(str(exc)) from None


class QueueRpcs:
    """The queue RPCs, shared by QueueService and the legacy ones on Submit."""

    def __init__(self, api: ApiContext) -> None:
        self.ops = QueueOperations(api)

    def who(self, context: grpc.aio.ServicerContext) -> Principal:
        return self.ops.api.who(context)

    @rpc
    async def CreateQueue(self, request: submit_pb2.Queue, context: Any) -> empty_pb2.Empty:
        await asyncio.to_thread(self.ops.create, request, self.who(context))
        return empty_pb2.Empty()

    @rpc
    async def UpdateQueue(self, request: submit_pb2.Queue, context: Any) -> empty_pb2.Empty:
        await asyncio.to_thread(self.ops.update, request, self.who(context))
        return empty_pb2.Empty()

    @rpc
    async def CreateQueues(
        self, request: submit_pb2.QueueList, context: Any
    ) -> submit_pb2.BatchQueueCreateResponse:
        response = submit_pb2.BatchQueueCreateResponse()
        for queue in request.queues:
            try:
                await asyncio.to_thread(self.ops.create, queue, self.who(context))
            except ApiError as exc:
                response.failed_queues.add(queue=queue, error=exc.message)
        return response

    @rpc
    async def UpdateQueues(
        self, request: submit_pb2.QueueList, context: Any
    ) -> submit_pb2.BatchQueueUpdateResponse:
        response = submit_pb2.BatchQueueUpdateResponse()
        for queue in request.queues:
            try:
                await asyncio.to_thread(self.ops.update, queue, self.who(context))
            except ApiError as exc:
                response.failed_queues.add(queue=queue, error=exc.message)
        return response

    @rpc
    async def DeleteQueue(
        self, request: submit_pb2.QueueDeleteRequest, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self.ops.delete, request.name, self.who(context))
        return empty_pb2.Empty()

    @rpc
    async def GetQueue(self, request: submit_pb2.QueueGetRequest, context: Any) -> submit_pb2.Queue:
        return queue_to_proto(await asyncio.to_thread(self.ops.get, request.name))

    @stream_rpc
    async def GetQueues(
        self, request: submit_pb2.StreamingQueueGetRequest, context: Any
    ) -> AsyncIterator[submit_pb2.StreamingQueueMessage]:
        queues = await asyncio.to_thread(self.ops.api.storage.store.list_queues)
        if request.num:
            queues = queues[: request.num]
        for queue in queues:
            yield submit_pb2.StreamingQueueMessage(queue=queue_to_proto(queue))
        yield submit_pb2.StreamingQueueMessage(end=submit_pb2.EndMarker())

    @rpc
    async def CordonQueue(
        self, request: submit_pb2.QueueCordonRequest, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self.ops.set_cordoned, request.name, True, self.who(context))
        return empty_pb2.Empty()

    @rpc
    async def UncordonQueue(
        self, request: submit_pb2.QueueUncordonRequest, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self.ops.set_cordoned, request.name, False, self.who(context))
        return empty_pb2.Empty()

    @rpc
    async def PreemptOnQueue(
        self, request: submit_pb2.QueuePreemptRequest, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self.ops.preempt_on_queue, request, self.who(context))
        return empty_pb2.Empty()

    @rpc
    async def CancelOnQueue(
        self, request: submit_pb2.QueueCancelRequest, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self.ops.cancel_on_queue, request, self.who(context))
        return empty_pb2.Empty()


class QueueServicer(QueueRpcs, submit_pb2_grpc.QueueServiceServicer):  # type: ignore[misc]
    """api.QueueService."""

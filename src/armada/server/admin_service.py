"""Armada's api.Executor and api.Node: cordon executors, and cancel or preempt what runs on an
executor or on one of its nodes. Cordoning is a control-plane event (the scheduler reads it
every round); cancelling and preempting are the same commands as on a job set, applied to the
jobs the query store knows to be running there (narrowed by queues, priority classes and, on an
executor, pools; an empty list means all)."""

from __future__ import annotations

import asyncio
from typing import Any

from google.protobuf import empty_pb2

from armada.domain import events as ev
from armada.domain.queues import ExecutorSettings
from armada.domain.quoting import shown
from armada.eventlog.base import Expect
from armada.eventlog.keys import executor_settings_key
from armada.rpc.gen import executor_admin_pb2 as pb
from armada.rpc.gen import executor_admin_pb2_grpc as pb_grpc
from armada.security import Permission, Principal
from armada.server.context import ApiContext, invalid, not_found, rpc
from armada.server.convert_queues import MAX_PRINCIPAL_LENGTH
from armada.server.job_commands import cancel_jobs, preempt_jobs, select_jobs
from armada.server.submission.errors import SubmissionError
from armada.server.submission.names import check_free_text

MAX_REASON_LENGTH = 1024
_PAST = {"preempt": "preempted", "cancel": "cancelled"}


_PERMISSION = {"preempt": Permission.PREEMPT_ANY_JOBS, "cancel": Permission.CANCEL_ANY_JOBS}


class _Admin:
    def __init__(self, api: ApiContext) -> None:
        self.api = api

    def who(self, context: Any) -> Principal:
        return self.api.who(context)

    def allowed(self, context: Any, permission: Permission) -> Principal:
        """The caller, if they hold ``permission`` (else PERMISSION_DENIED)."""
        who = self.api.who(context)
        self.api.require(who, permission)
        return who

    def control_plane(self, who: Principal, event: ev.Event, cause: str) -> None:
        self.api.append_control_plane(who, event, cause)


class ExecutorServicer(_Admin, pb_grpc.ExecutorServicer):  # type: ignore[misc]
    """api.Executor."""

    def _upsert(self, request: pb.ExecutorSettingsUpsertRequest, context: Any) -> None:
        who = self.allowed(context, Permission.UPDATE_EXECUTOR_SETTINGS)
        if not request.name:
            raise invalid("name: the executor's name is required")
        try:
            check_free_text("name", request.name, MAX_PRINCIPAL_LENGTH)
            check_free_text("cordonReason", request.cordonReason, MAX_REASON_LENGTH)
        except SubmissionError as exc:
            raise invalid(str(exc)) from None
        settings = ExecutorSettings(
            executor=request.name,
            cordoned=request.cordoned,
            cordon_reason=request.cordonReason if request.cordoned else "",
            set_by=who.user,
        )
        verb = "cordon" if request.cordoned else "uncordon"
        self.control_plane(
            who,
            ev.ExecutorSettingsUpserted(settings=settings),
            f"executor/{verb}/{request.name}",
        )

    def _delete(self, request: pb.ExecutorSettingsDeleteRequest, context: Any) -> None:
        self.api.append_expecting(
            self.allowed(context, Permission.UPDATE_EXECUTOR_SETTINGS),
            ev.ExecutorSettingsDeleted(executor=request.name),
            f"executor/delete-settings/{request.name}",
            Expect(executor_settings_key(request.name), exists=True),
            not_found(f"executor {shown(request.name)} has no settings"),
        )

    def _on_executor(self, request: Any, context: Any, action: str) -> None:
        if not request.name:
            raise invalid("name: the executor's name is required")
        jobs = select_jobs(
            self.api.storage.store.jobs_on_executor(request.name),
            queues=request.queues,
            priority_classes=request.priorityClasses,
            pools=request.pools,
        )
        command = preempt_jobs if action == "preempt" else cancel_jobs
        command(
            self.api,
            jobs,
            self.allowed(context, _PERMISSION[action]),
            f"{_PAST[action]} on executor {request.name}",
            f"executor/{action}/{request.name}",
        )

    @rpc
    async def UpsertExecutorSettings(
        self, request: pb.ExecutorSettingsUpsertRequest, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self._upsert, request, context)
        return empty_pb2.Empty()

    @rpc
    async def DeleteExecutorSettings(
        self, request: pb.ExecutorSettingsDeleteRequest, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self._delete, request, context)
        return empty_pb2.Empty()

    @rpc
    async def PreemptOnExecutor(
        self, request: pb.ExecutorPreemptRequest, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self._on_executor, request, context, "preempt")
        return empty_pb2.Empty()

    @rpc
    async def CancelOnExecutor(
        self, request: pb.ExecutorCancelRequest, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self._on_executor, request, context, "cancel")
        return empty_pb2.Empty()


class NodeServicer(_Admin, pb_grpc.NodeServicer):  # type: ignore[misc]
    """api.Node."""

    def _on_node(self, request: Any, context: Any, action: str) -> None:
        if not request.name or not request.executor:
            raise invalid("name and executor: the node and its executor are required")
        jobs = select_jobs(
            self.api.storage.store.jobs_on_executor(request.executor, request.name),
            queues=request.queues,
            priority_classes=request.priorityClasses,
        )
        command = preempt_jobs if action == "preempt" else cancel_jobs
        command(
            self.api,
            jobs,
            self.allowed(context, _PERMISSION[action]),
            f"{_PAST[action]} on node {request.name} of {request.executor}",
            f"node/{action}/{request.executor}/{request.name}",
        )

    @rpc
    async def PreemptOnNode(self, request: pb.NodePreemptRequest, context: Any) -> empty_pb2.Empty:
        await asyncio.to_thread(self._on_node, request, context, "preempt")
        return empty_pb2.Empty()

    @rpc
    async def CancelOnNode(self, request: pb.NodeCancelRequest, context: Any) -> empty_pb2.Empty:
        await asyncio.to_thread(self._on_node, request, context, "cancel")
        return empty_pb2.Empty()

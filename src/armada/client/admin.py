"""Administration of executors and nodes (Armada's ``api.Executor`` and ``api.Node``):
cordoning executors, and cancelling or preempting what runs on an executor or a node.
Empty ``queues``, ``priority_classes`` or ``pools`` mean all of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from armada.client.connection import Connection
from armada.client.errors import Unimplemented
from armada.rpc.gen import executor_admin_pb2 as pb
from armada.rpc.gen import executor_admin_pb2_grpc as pb_grpc


class ExecutorAdmin:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._executors = pb_grpc.ExecutorStub(connection.channel)
        self._nodes = pb_grpc.NodeStub(connection.channel)

    def _call(self, method: Any, request: Any) -> None:
        try:
            self.connection.unary(method, request)
        except Unimplemented:
            raise Unimplemented(
                f"executor administration is not available from the server at "
                f"{self.connection.target}",
                code=None,
            ) from None

    def cordon(self, executor: str, reason: str = "") -> None:
        """No new jobs go to the executor (its running jobs go on)."""
        request = pb.ExecutorSettingsUpsertRequest(
            name=executor, cordoned=True, cordonReason=reason
        )
        self._call(self._executors.UpsertExecutorSettings, request)

    def uncordon(self, executor: str) -> None:
        request = pb.ExecutorSettingsUpsertRequest(name=executor, cordoned=False)
        self._call(self._executors.UpsertExecutorSettings, request)

    def delete_settings(self, executor: str) -> None:
        request = pb.ExecutorSettingsDeleteRequest(name=executor)
        self._call(self._executors.DeleteExecutorSettings, request)

    def preempt_on_executor(
        self,
        executor: str,
        queues: Sequence[str] = (),
        priority_classes: Sequence[str] = (),
        pools: Sequence[str] = (),
    ) -> None:
        request = pb.ExecutorPreemptRequest(
            name=executor, queues=queues, priorityClasses=priority_classes, pools=pools
        )
        self._call(self._executors.PreemptOnExecutor, request)

    def cancel_on_executor(
        self,
        executor: str,
        queues: Sequence[str] = (),
        priority_classes: Sequence[str] = (),
        pools: Sequence[str] = (),
    ) -> None:
        request = pb.ExecutorCancelRequest(
            name=executor, queues=queues, priorityClasses=priority_classes, pools=pools
        )
        self._call(self._executors.CancelOnExecutor, request)

    def preempt_on_node(
        self,
        node: str,
        executor: str,
        queues: Sequence[str] = (),
        priority_classes: Sequence[str] = (),
    ) -> None:
        request = pb.NodePreemptRequest(
            name=node, executor=executor, queues=queues, priorityClasses=priority_classes
        )
        self._call(self._nodes.PreemptOnNode, request)

    def cancel_on_node(
        self,
        node: str,
        executor: str,
        queues: Sequence[str] = (),
        priority_classes: Sequence[str] = (),
    ) -> None:
        request = pb.NodeCancelRequest(
            name=node, executor=executor, queues=queues, priorityClasses=priority_classes
        )
        self._call(self._nodes.CancelOnNode, request)

"""api.RetryPolicyService: named retry policies, stored as control-plane events.

This stores and serves the policies; applying them to failed runs is the scheduler's job.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from armada_client.armada import submit_pb2, submit_pb2_grpc
from google.protobuf import empty_pb2

from armada.domain import events as ev
from armada.domain.queues import RetryPolicy
from armada.domain.quoting import shown
from armada.eventlog.base import Expect
from armada.eventlog.keys import retry_policy_key
from armada.security import Permission, Principal
from armada.server.context import ApiContext, ApiError, invalid, not_found, rpc
from armada.server.convert_queues import (
    InvalidObject,
    retry_policy_from_proto,
    retry_policy_to_proto,
)


class RetryPolicyServicer(submit_pb2_grpc.RetryPolicyServiceServicer):  # type: ignore[misc]
    def __init__(self, api: ApiContext) -> None:
        self.api = api

    @staticmethod
    def _policy(message: submit_pb2.RetryPolicy) -> RetryPolicy:
        try:
            return retry_policy_from_proto(message)
        except InvalidObject as exc:
            raise invalid(str(exc)) from None

    def _get(self, name: str) -> RetryPolicy:
        policy = self.api.storage.store.get_retry_policy(name)
        if policy is None:
            raise not_found(f"retry policy {shown(name)} does not exist")
        return policy

    def _create(self, message: submit_pb2.RetryPolicy, context: Any) -> None:
        policy = self._policy(message)
        self.api.append_expecting(
            self._allowed(context, Permission.CREATE_RETRY_POLICY),
            ev.RetryPolicyUpserted(policy=policy),
            "retry-policy/create",
            Expect(retry_policy_key(policy.name), exists=False),
            ApiError(
                grpc.StatusCode.ALREADY_EXISTS, f"retry policy {shown(policy.name)} already exists"
            ),
        )

    def _update(self, message: submit_pb2.RetryPolicy, context: Any) -> None:
        policy = self._policy(message)
        self._change_existing(
            policy.name,
            ev.RetryPolicyUpserted(policy=policy),
            "retry-policy/update",
            self._allowed(context, Permission.UPDATE_RETRY_POLICY),
        )

    def _delete(self, name: str, context: Any) -> None:
        self._change_existing(
            name,
            ev.RetryPolicyDeleted(name=name),
            "retry-policy/delete",
            self._allowed(context, Permission.DELETE_RETRY_POLICY),
        )

    def _allowed(self, context: Any, permission: Permission) -> Principal:
        who = self.api.who(context)
        self.api.require(who, permission)
        return who

    def _change_existing(self, name: str, event: ev.Event, cause: str, who: Principal) -> None:
        self.api.append_expecting(
            who,
            event,
            cause,
            Expect(retry_policy_key(name), exists=True),
            not_found(f"retry policy {shown(name)} does not exist"),
        )

    @rpc
    async def CreateRetryPolicy(
        self, request: submit_pb2.RetryPolicy, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self._create, request, context)
        return empty_pb2.Empty()

    @rpc
    async def UpdateRetryPolicy(
        self, request: submit_pb2.RetryPolicy, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self._update, request, context)
        return empty_pb2.Empty()

    @rpc
    async def DeleteRetryPolicy(
        self, request: submit_pb2.RetryPolicyDeleteRequest, context: Any
    ) -> empty_pb2.Empty:
        await asyncio.to_thread(self._delete, request.name, context)
        return empty_pb2.Empty()

    @rpc
    async def GetRetryPolicy(
        self, request: submit_pb2.RetryPolicyGetRequest, context: Any
    ) -> submit_pb2.RetryPolicy:
        return retry_policy_to_proto(await asyncio.to_thread(self._get, request.name))

    @rpc
    async def GetRetryPolicies(
        self, request: submit_pb2.RetryPolicyListRequest, context: Any
    ) -> submit_pb2.RetryPolicyList:
        policies = await asyncio.to_thread(self.api.storage.store.list_retry_policies)
        return submit_pb2.RetryPolicyList(
            retry_policies=[retry_policy_to_proto(p) for p in policies]
        )

"""api.RetryPolicyService: create, read, update, delete named retry policies."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from armada_client.armada import submit_pb2


def policy(name: str = "oom-retry", limit: int = 3) -> submit_pb2.RetryPolicy:
    message = submit_pb2.RetryPolicy(
        name=name, retry_limit=limit, default_action=submit_pb2.RETRY_ACTION_FAIL
    )
    rule = message.rules.add(action=submit_pb2.RETRY_ACTION_RETRY, on_category="oom")
    rule.mutate.resources.memory.factor = 1.5
    rule.mutate.affinity.avoid_same_node = True
    return message


def status(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        call()  # type: ignore[operator]
    return err.value.code()


@pytest.fixture
def stub(channel: grpc.Channel) -> Any:
    from armada_client.armada import submit_pb2_grpc

    return submit_pb2_grpc.RetryPolicyServiceStub(channel)


def test_create_get_update_delete(stub: Any) -> None:
    s = stub
    s.CreateRetryPolicy(policy())
    assert s.GetRetryPolicy(submit_pb2.RetryPolicyGetRequest(name="oom-retry")) == policy()
    s.UpdateRetryPolicy(policy(limit=5))
    listed = s.GetRetryPolicies(submit_pb2.RetryPolicyListRequest())
    assert [(p.name, p.retry_limit) for p in listed.retry_policies] == [("oom-retry", 5)]
    s.DeleteRetryPolicy(submit_pb2.RetryPolicyDeleteRequest(name="oom-retry"))
    assert not s.GetRetryPolicies(submit_pb2.RetryPolicyListRequest()).retry_policies


def test_errors(stub: Any) -> None:
    s = stub
    s.CreateRetryPolicy(policy())
    assert status(lambda: s.CreateRetryPolicy(policy())) == grpc.StatusCode.ALREADY_EXISTS
    assert status(lambda: s.UpdateRetryPolicy(policy("nope"))) == grpc.StatusCode.NOT_FOUND
    assert (
        status(lambda: s.DeleteRetryPolicy(submit_pb2.RetryPolicyDeleteRequest(name="nope")))
        == grpc.StatusCode.NOT_FOUND
    )
    bad = policy("bad")
    bad.rules[0].mutate.resources.memory.factor = 0.5
    assert status(lambda: s.CreateRetryPolicy(bad)) == grpc.StatusCode.INVALID_ARGUMENT
    unspecified = submit_pb2.RetryPolicy(name="u")
    unspecified.rules.add(on_category="oom")
    assert status(lambda: s.CreateRetryPolicy(unspecified)) == grpc.StatusCode.INVALID_ARGUMENT

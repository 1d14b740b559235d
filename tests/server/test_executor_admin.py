"""api.Executor and api.Node (Armada's admin services): cordon an executor; cancel or preempt
the jobs on an executor or a node."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from armada.domain import events as ev
from armada.rpc.gen import executor_admin_pb2 as pb
from armada.rpc.gen import executor_admin_pb2_grpc as pb_grpc
from tests.api_builders import create_queue, event_types, events, item


@pytest.fixture
def executors(channel: grpc.Channel) -> Any:
    return pb_grpc.ExecutorStub(channel)


@pytest.fixture
def nodes(channel: grpc.Channel) -> Any:
    return pb_grpc.NodeStub(channel)


def test_cordon_and_uncordon_an_executor(executors: Any, armada: EmbeddedArmada) -> None:
    executors.UpsertExecutorSettings(
        pb.ExecutorSettingsUpsertRequest(
            name="cluster-1", cordoned=True, cordonReason="kernel upgrade"
        )
    )
    (settings,) = armada.system.storage.store.list_executor_settings()
    assert (settings.executor, settings.cordoned, settings.cordon_reason, settings.set_by) == (
        "cluster-1",
        True,
        "kernel upgrade",
        "anonymous",
    )
    executors.DeleteExecutorSettings(pb.ExecutorSettingsDeleteRequest(name="cluster-1"))
    assert armada.system.storage.store.list_executor_settings() == []
    with pytest.raises(grpc.RpcError) as err:
        executors.DeleteExecutorSettings(pb.ExecutorSettingsDeleteRequest(name="cluster-1"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        executors.UpsertExecutorSettings(pb.ExecutorSettingsUpsertRequest(cordoned=True))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def running(armada: EmbeddedArmada, client: ArmadaClient) -> list[str]:
    """Four jobs: two running on cluster-1 (node-a, node-b), one on cluster-2, one queued."""
    create_queue(client)
    create_queue(client, "other")
    ids = [r.job_id for r in client.submit_jobs("queue-a", "s", [item()] * 3).job_response_items]
    ids += [client.submit_jobs("other", "s", [item()]).job_response_items[0].job_id]
    placements = [("cluster-1", "node-a"), ("cluster-1", "node-b"), ("cluster-2", "node-a")]
    for job_id, (executor, node) in zip(ids, placements, strict=False):
        queue = "queue-a"
        armada.system.storage.append(
            [
                ev.EventSequence(
                    queue=queue,
                    job_set="s",
                    user="scheduler",
                    created=1.0,
                    events=[
                        ev.JobRunLeased(
                            job_id=job_id,
                            run_id=f"r-{job_id}",
                            executor=executor,
                            node=node,
                            pool="default",
                        )
                    ],
                )
            ]
        )
    return ids


def test_preempt_on_executor_and_cancel_on_node(
    client: ArmadaClient, armada: EmbeddedArmada, executors: Any, nodes: Any
) -> None:
    ids = running(armada, client)
    executors.PreemptOnExecutor(pb.ExecutorPreemptRequest(name="cluster-1"))
    preempting = {j for j, k in event_types(events(client, "queue-a", "s")) if k == "preempting"}
    assert preempting == {ids[0], ids[1]}
    nodes.CancelOnNode(pb.NodeCancelRequest(name="node-a", executor="cluster-2"))
    assert client.get_job_status([ids[2]]).job_states[ids[2]] == 9  # CANCELLED
    states = client.get_job_status(ids).job_states
    assert states[ids[3]] == 0, "the queued job of the other queue is untouched"
    nodes.CancelOnNode(pb.NodeCancelRequest(name="node-b", executor="cluster-1", queues=["other"]))
    # ids[1] is leased, or preempted by now (the request above): never cancelled
    assert client.get_job_status([ids[1]]).job_states[ids[1]] in (7, 8), "filtered out by queue"
    cancelled = {j for j, k in event_types(events(client, "queue-a", "s")) if k == "cancelling"}
    assert cancelled == {ids[2]}
    with pytest.raises(grpc.RpcError) as err:
        nodes.PreemptOnNode(pb.NodePreemptRequest(name="node-a"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_pools_narrow_what_is_preempted_or_cancelled_on_an_executor(
    client: ArmadaClient, armada: EmbeddedArmada, executors: Any
) -> None:
    ids = running(armada, client)  # every run is in pool "default"
    executors.PreemptOnExecutor(pb.ExecutorPreemptRequest(name="cluster-1", pools=["gpu"]))
    executors.CancelOnExecutor(pb.ExecutorCancelRequest(name="cluster-2", pools=["gpu"]))
    kinds = {k for _, k in event_types(events(client, "queue-a", "s"))}
    assert "preempting" not in kinds and "cancelling" not in kinds
    executors.PreemptOnExecutor(pb.ExecutorPreemptRequest(name="cluster-1", pools=["default"]))
    executors.CancelOnExecutor(pb.ExecutorCancelRequest(name="cluster-2", pools=["gpu", "default"]))
    preempting = {j for j, k in event_types(events(client, "queue-a", "s")) if k == "preempting"}
    assert preempting == {ids[0], ids[1]}
    assert client.get_job_status([ids[2]]).job_states[ids[2]] == 9  # CANCELLED

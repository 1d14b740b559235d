"""Building Armada API messages in tests, with the classes armada-client ships."""

from __future__ import annotations

from typing import Any

from armada_client.armada import event_pb2, submit_pb2
from armada_client.client import ArmadaClient
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core
from armada_client.k8s.io.apimachinery.pkg.api.resource import generated_pb2 as resource


def quantities(**values: str) -> dict[str, resource.Quantity]:
    return {name.replace("_", "-"): resource.Quantity(string=v) for name, v in values.items()}


def container(
    name: str = "main",
    args: tuple[str, ...] = ("sleep", "1"),
    requests: dict[str, str] | None = None,
    limits: dict[str, str] | None = None,
    **fields: Any,
) -> core.Container:
    requests = {"cpu": "150m", "memory": "64Mi"} if requests is None else requests
    limits = dict(requests) if limits is None else limits
    return core.Container(
        name=name,
        image="busybox:latest",
        args=list(args),
        resources=core.ResourceRequirements(
            requests={k: resource.Quantity(string=v) for k, v in requests.items()},
            limits={k: resource.Quantity(string=v) for k, v in limits.items()},
        ),
        **fields,
    )


def pod_spec(*containers: core.Container, **fields: Any) -> core.PodSpec:
    return core.PodSpec(
        restartPolicy="Never", containers=list(containers) or [container()], **fields
    )


def item(pod: core.PodSpec | None = None, **fields: Any) -> submit_pb2.JobSubmitRequestItem:
    values: dict[str, Any] = {
        "priority": 1.0,
        "namespace": "default",
        "pod_spec": pod or pod_spec(),
    }
    values.update(fields)
    return submit_pb2.JobSubmitRequestItem(**values)


def create_queue(client: ArmadaClient, name: str = "queue-a", factor: float = 1.0) -> None:
    client.create_queue(client.create_queue_request(name, factor))


def events(
    client: ArmadaClient, queue: str, job_set: str, from_id: str = ""
) -> list[event_pb2.EventStreamMessage]:
    """Every event of a job set so far (watch=false replays and ends)."""
    request = event_pb2.JobSetRequest(queue=queue, id=job_set, from_message_id=from_id)
    return list(client.event_stub.GetJobSetEvents(request))


def event_types(messages: list[event_pb2.EventStreamMessage]) -> list[tuple[str, str]]:
    """(job id, event type) of each message."""
    result = []
    for message in messages:
        kind = message.message.WhichOneof("events")
        result.append((getattr(message.message, kind).job_id, kind))
    return result

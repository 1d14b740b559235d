"""Kubernetes' naming rules and size limits, checked at submission (issue 9, points 2 and 6):
what Kubernetes would refuse when the executor creates the pod is refused at once, naming the
rule; and no accepted job can make its job set unreadable for a default client (4 MiB)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from armada_client.armada import submit_pb2
from armada_client.client import ArmadaClient

from armada.dev.embedded import EmbeddedArmada
from armada.rpc.gen import executor_admin_pb2 as admin_pb
from armada.rpc.gen import executor_admin_pb2_grpc as admin_grpc
from tests.api_builders import container, events, item, pod_spec
from tests.server.test_submission_rules import queue, refused

__all__ = ["queue"]  # the fixture

DNS1123 = "DNS-1123 label"
Item = Callable[[], submit_pb2.JobSubmitRequestItem]


def container_named(name: str) -> tuple[Item, str, str]:
    """A case: an item whose one container has this name, refused as no DNS-1123 label."""
    return (
        lambda: item(pod=pod_spec(container(name=name))),
        "pod_spec.containers[0].name",
        DNS1123,
    )


NAMED_WRONG: dict[str, tuple[Item, str, str]] = {
    "emoji container": container_named("😀"),
    "slash in container": container_named("x/y"),
    "NUL in container": container_named("ma\0in"),
    "no container name": container_named(""),
    "two containers, one name": (
        lambda: item(pod=pod_spec(container(name="a"), container(name="a"))),
        "pod_spec.containers[1].name",
        "unique container names",
    ),
    "namespace ../etc": (lambda: item(namespace="../etc"), "namespace", DNS1123),
    "namespace of 300 characters": (lambda: item(namespace="a" * 300), "namespace", DNS1123),
    "upper-case namespace": (lambda: item(namespace="Default"), "namespace", DNS1123),
    "label key with a space": (lambda: item(labels={"a b": "x"}), "labels", "qualified name"),
    "label key with two slashes": (
        lambda: item(labels={"a/b/c": "x"}),
        "labels",
        "qualified name",
    ),
    "label value too long": (lambda: item(labels={"app": "x" * 64}), "labels", "label value"),
    "label value with a brace": (lambda: item(labels={"app": "{x}"}), "labels", "label value"),
    "annotation key with NUL": (
        lambda: item(annotations={"a\0b": "x"}),
        "annotations",
        "qualified name",
    ),
    "node selector key": (
        lambda: item(pod=pod_spec(nodeSelector={"-zone": "a"})),
        "pod_spec.nodeSelector",
        "qualified name",
    ),
    "required node label value": (
        lambda: item(required_node_labels={"zone": "a b"}),
        "required_node_labels",
        "label value",
    ),
    "client id with NUL": (lambda: item(client_id="a\0b"), "client_id", "unprintable"),
    "annotations over 256 KiB": (
        lambda: item(annotations={"big": "x" * (256 * 1024)}),
        "annotations",
        "256 KiB",
    ),
    "labels over 256 KiB": (
        lambda: item(labels={f"l{i}": "x" * 60 for i in range(5000)}),
        "labels",
        "256 KiB",
    ),
    "ingress annotations over the job's 256 KiB": (
        lambda: item(
            annotations={"half": "x" * (150 * 1024)},
            pod=pod_spec(container(ports=[{"containerPort": 80}])),
            ingress=[submit_pb2.IngressConfig(ports=[80], annotations={"a": "x" * (150 * 1024)})],
        ),
        "ingress",
        "256 KiB",
    ),
}


@pytest.mark.parametrize("case", NAMED_WRONG)
def test_names_kubernetes_would_refuse_are_refused_naming_the_rule(
    client: ArmadaClient, armada: EmbeddedArmada, queue: str, case: str
) -> None:
    make, field, rule = NAMED_WRONG[case]
    error = refused(client, armada, [make()])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"job_request_items[0].{field}"), error.details()
    assert rule in error.details()
    assert len(error.details()) < 2100


def test_a_job_set_id_with_nul_is_refused(
    client: ArmadaClient, armada: EmbeddedArmada, queue: str
) -> None:
    error = refused(client, armada, [item()], job_set="set\0one")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("job_set_id:") and "unprintable" in error.details()


def test_names_kubernetes_accepts_are_accepted(client: ArmadaClient, queue: str) -> None:
    good = item(
        namespace="team-a",
        pod=pod_spec(container(name="main"), container(name="side-car-2"), nodeSelector={}),
        labels={"example.com/app": "v1.2_x", "tier": "", "a": "{JobId}"[1:6]},
        annotations={"armadaproject.io/note": "anything at all: 😀 / \n", "x.y/z": ""},
    )
    response = client.submit_jobs(queue, "set one ✓", [good])
    assert response.job_response_items[0].job_id


def test_a_job_at_every_limit_leaves_its_job_set_readable_by_a_default_client(
    armada: EmbeddedArmada, queue: str
) -> None:
    """The largest annotations and labels allowed, with a large pod spec: every event message
    about the job stays under a default client's 4 MiB."""
    annotations = {f"a{i}": "x" * (60 * 1024) for i in range(4)}  # ~240 KiB
    labels = {f"label-{i}": "v" * 63 for i in range(3000)}  # ~230 KiB
    args = tuple("y" * 1000 for _ in range(50))  # a pod spec of ~50 KB
    big = item(annotations=annotations, labels=labels, pod=pod_spec(container(args=args)))
    with grpc.insecure_channel(armada.address) as default_channel:  # 4 MiB to receive
        client = ArmadaClient(default_channel)
        client.submit_jobs(queue, "s", [big] * 3)
        kinds = [m.message.WhichOneof("events") for m in events(client, queue, "s")]
        assert kinds.count("submitted") == 3


def test_a_huge_annotation_is_refused_and_the_job_set_stays_readable(
    client: ArmadaClient, armada: EmbeddedArmada, queue: str
) -> None:
    client.submit_jobs(queue, "s", [item()])
    with grpc.insecure_channel(
        armada.address, options=[("grpc.max_send_message_length", 64 * 2**20)]
    ) as sender:
        error = refused(ArmadaClient(sender), armada, [item(annotations={"a": "x" * 20_000_000})])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "256 KiB" in error.details()
    assert len(events(client, queue, "s")) == 2  # submitted, queued: the set reads fine


def test_queue_owners_and_executor_names_must_be_printable(
    client: ArmadaClient, channel: grpc.Channel
) -> None:
    bad_queue = submit_pb2.Queue(name="q", priority_factor=1, user_owners=["al\0ice"])
    with pytest.raises(grpc.RpcError) as err:
        client.queue_stub.CreateQueue(bad_queue)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "user_owners[0]" in err.value.details()
    executors = admin_grpc.ExecutorStub(channel)
    with pytest.raises(grpc.RpcError) as err:
        executors.UpsertExecutorSettings(admin_pb.ExecutorSettingsUpsertRequest(name="e\0x"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_job_stored_before_the_limits_leaves_its_job_set_readable(
    armada: EmbeddedArmada, client: ArmadaClient, queue: str
) -> None:
    """A 6 MB annotation in the log (accepted by an older server): its Submitted event leaves
    the annotations out, saying so, and a default client reads the job set."""
    from armada.server.convert_events import TRUNCATED_ANNOTATION
    from tests.builders import sequence, submit

    huge = submit("old-job", queue=queue, job_set="old", annotations={"a": "x" * 6_000_000})
    armada.system.storage.append([sequence(huge, queue=queue, job_set="old")])
    messages = events(client, queue, "old")
    job = messages[0].message.submitted.job
    assert job.id == "old-job"
    assert list(job.annotations) == [TRUNCATED_ANNOTATION]

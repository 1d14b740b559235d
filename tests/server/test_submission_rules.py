"""Submission validation and defaulting (Armada's rules): bad input is refused whole, with an
error naming the item and the field, and nothing of the request is stored."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from armada_client.armada import submit_pb2
from armada_client.client import ArmadaClient
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from armada.dev.embedded import EmbeddedArmada
from tests.api_builders import container, create_queue, events, item, pod_spec

GANG = "armadaproject.io/gangId"
CARDINALITY = "armadaproject.io/gangCardinality"


@pytest.fixture
def queue(client: ArmadaClient) -> str:
    create_queue(client)
    return "queue-a"


def refused(
    client: ArmadaClient,
    armada: EmbeddedArmada,
    items: list[submit_pb2.JobSubmitRequestItem],
    job_set: str = "s",
    queue: str = "queue-a",
) -> grpc.RpcError:
    head = armada.system.storage.log.head()
    with pytest.raises(grpc.RpcError) as err:
        client.submit_jobs(queue, job_set, items)
    assert armada.system.storage.log.head() == head, "a refused request stored something"
    return err.value


def affinity_preferred() -> core.Affinity:
    term = core.PreferredSchedulingTerm(
        weight=1,
        preference=core.NodeSelectorTerm(
            matchExpressions=[core.NodeSelectorRequirement(key="zone", operator="In", values=["a"])]
        ),
    )
    return core.Affinity(
        nodeAffinity=core.NodeAffinity(preferredDuringSchedulingIgnoredDuringExecution=[term])
    )


BAD_ITEMS: dict[str, tuple[Callable[[], submit_pb2.JobSubmitRequestItem], str]] = {
    "missing namespace": (lambda: item(namespace=""), "job_request_items[0].namespace"),
    "no pod spec": (
        lambda: submit_pb2.JobSubmitRequestItem(namespace="default"),
        "pod spec is required",
    ),
    "two pod specs": (
        lambda: submit_pb2.JobSubmitRequestItem(
            namespace="default", pod_specs=[pod_spec(), pod_spec()]
        ),
        "multiple pods",
    ),
    "pod_spec and pod_specs": (lambda: item(pod_specs=[pod_spec()]), "multiple pods"),
    "no containers": (lambda: item(pod=core.PodSpec()), "at least one container"),
    "requests differ from limits": (
        lambda: item(pod_spec(container(requests={"cpu": "1"}, limits={"cpu": "2"}))),
        "requests must equal limits for cpu",
    ),
    "negative resources": (
        lambda: item(pod_spec(container(requests={"cpu": "-1"}))),
        "negative quantity",
    ),
    "not a quantity": (
        lambda: item(pod_spec(container(requests={"memory": "lots"}))),
        "not a resource quantity",
    ),
    "unsupported resource": (
        lambda: item(pod_spec(container(requests={"example.com/fpga": "1"}))),
        "not supported",
    ),
    "below the minimum": (
        lambda: item(pod_spec(container(requests={"cpu": "1", "memory": "1Ki"}))),
        "the minimum is 1Mi",
    ),
    "priority class not allowed": (
        lambda: item(pod_spec(priorityClassName="vip")),
        "priority class 'vip' is not allowed",
    ),
    "grace period too long": (
        lambda: item(pod_spec(terminationGracePeriodSeconds=600)),
        "terminationGracePeriodSeconds: 600s is outside the allowed range [1s, 300s]",
    ),
    "negative priority": (lambda: item(priority=-1), "priority: must be between"),
    "preferred affinity": (
        lambda: item(pod_spec(affinity=affinity_preferred())),
        "preferred node affinity is not supported",
    ),
    "client id too long": (lambda: item(client_id="x" * 101), "client_id"),
    "gang cardinality not a number": (
        lambda: item(annotations={GANG: "g", CARDINALITY: "three"}),
        "gangCardinality",
    ),
    "gang without id": (lambda: item(annotations={CARDINALITY: "2"}), "gangId is not"),
    "gang not fail-fast": (
        lambda: item(
            annotations={GANG: "g", CARDINALITY: "1", "armadaproject.io/failFast": "false"}
        ),
        "gang jobs must be fail-fast",
    ),
    "ingress port not exposed": (
        lambda: item(ingress=[submit_pb2.IngressConfig(ports=[8080])]),
        "port 8080 is not exposed",
    ),
    "pod spec too large": (
        lambda: item(pod_spec(container(args=("echo", "x" * 70_000)))),
        "the limit is 65535",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ITEMS))
def test_each_kind_of_bad_item_is_refused_naming_the_field(
    client: ArmadaClient, armada: EmbeddedArmada, queue: str, case: str
) -> None:
    build, expected = BAD_ITEMS[case]
    error = refused(client, armada, [build()])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in error.details()
    assert error.details().startswith("job_request_items[0]")


def test_a_request_is_all_or_nothing(
    client: ArmadaClient, armada: EmbeddedArmada, queue: str
) -> None:
    error = refused(client, armada, [item(), item(), item(namespace="")])
    assert error.details().startswith("job_request_items[2].namespace")
    assert events(client, "queue-a", "s") == []


@pytest.mark.parametrize(
    ("job_set", "expected"),
    [("", "job_set_id: a job set id is required"), ("x" * 1024, "job_set_id: is 1024 characters")],
)
def test_bad_job_set_ids_are_refused(
    client: ArmadaClient, armada: EmbeddedArmada, queue: str, job_set: str, expected: str
) -> None:
    error = refused(client, armada, [item()], job_set=job_set)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and expected in error.details()


def test_an_empty_request_is_refused(
    client: ArmadaClient, armada: EmbeddedArmada, queue: str
) -> None:
    error = refused(client, armada, [])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at least one job" in error.details()


def test_an_unknown_queue_is_permission_denied(
    client: ArmadaClient, armada: EmbeddedArmada
) -> None:
    error = refused(client, armada, [item()], queue="nobody")
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "could not find queue 'nobody'" in error.details()


def test_a_cordoned_queue_still_accepts_jobs(client: ArmadaClient, queue: str) -> None:
    client.queue_stub.CordonQueue(submit_pb2.QueueCordonRequest(name=queue))
    assert client.get_queue(queue).cordoned
    response = client.submit_jobs(queue, "s", [item()])
    assert response.job_response_items[0].job_id


def test_gang_members_must_agree(client: ArmadaClient, armada: EmbeddedArmada, queue: str) -> None:
    error = refused(
        client,
        armada,
        [
            item(annotations={GANG: "g", CARDINALITY: "2"}),
            item(annotations={GANG: "g", CARDINALITY: "3"}),
        ],
    )
    assert "members disagree on gangCardinality" in error.details()
    error = refused(client, armada, [item(annotations={GANG: "h", CARDINALITY: "1"})] * 2)
    assert "has 2 members but a cardinality of 1" in error.details()


def stored_pod(client: ArmadaClient, job_id: str) -> core.PodSpec:
    details = client.job_stub.GetJobDetails(
        __import__("armada_client.armada.job_pb2", fromlist=["x"]).JobDetailsRequest(
            job_ids=[job_id], expand_job_spec=True
        )
    )
    return details.job_details[job_id].job_spec.pod_spec


def submit_one(client: ArmadaClient, **fields: object) -> str:
    response = client.submit_jobs("queue-a", "s", [item(**fields)])  # type: ignore[arg-type]
    return response.job_response_items[0].job_id


def test_defaults_are_applied(client: ArmadaClient, queue: str) -> None:
    job_id = submit_one(client, pod=pod_spec(container(requests={"cpu": "1"}, limits={"cpu": "1"})))
    pod = stored_pod(client, job_id)
    assert pod.priorityClassName == "armada-default"
    assert pod.terminationGracePeriodSeconds == 1, "unset grace period becomes the minimum"
    assert pod.activeDeadlineSeconds == 72 * 3600
    limits = {k: v.string for k, v in pod.containers[0].resources.limits.items()}
    assert limits == {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "8Gi"}
    assert not pod.tolerations


def test_gpu_jobs_get_gpu_defaults(client: ArmadaClient, queue: str) -> None:
    job_id = submit_one(
        client,
        pod=pod_spec(
            container(requests={"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}),
            terminationGracePeriodSeconds=0,
        ),
    )
    pod = stored_pod(client, job_id)
    assert pod.activeDeadlineSeconds == 336 * 3600
    assert pod.terminationGracePeriodSeconds == 1, "a grace period of 0 becomes the minimum"
    assert [(t.key, t.operator, t.effect) for t in pod.tolerations] == [
        ("nvidia.com/gpu", "Exists", "NoSchedule")
    ]


def test_job_id_is_templated_into_labels_and_annotations(client: ArmadaClient, queue: str) -> None:
    job_id = submit_one(
        client, labels={"run": "job-{JobId}"}, annotations={"link": "https://x/{JobId}/log"}
    )
    spec = (
        client.job_stub.GetJobDetails(
            __import__("armada_client.armada.job_pb2", fromlist=["x"]).JobDetailsRequest(
                job_ids=[job_id], expand_job_spec=True
            )
        )
        .job_details[job_id]
        .job_spec
    )
    assert spec.labels["run"] == f"job-{job_id}"
    assert spec.annotations["link"] == f"https://x/{job_id}/log"


def test_gangs_are_made_fail_fast(client: ArmadaClient, queue: str) -> None:
    job_id = submit_one(client, annotations={GANG: "g1", CARDINALITY: "1"})
    stored = client.job_stub.GetJobDetails(
        __import__("armada_client.armada.job_pb2", fromlist=["x"]).JobDetailsRequest(
            job_ids=[job_id], expand_job_spec=True
        )
    ).job_details[job_id]
    assert stored.state == submit_pb2.QUEUED

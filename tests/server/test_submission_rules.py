"""Submission validation and defaulting (Armada's rules): bad input is refused whole, with an
error naming the item and the field, and nothing of the request is stored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from armada_client.armada import submit_pb2
from armada_client.client import ArmadaClient
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

from armada.dev.embedded import EmbeddedArmada
from armada.domain.states import JobState
from tests.api_builders import container, create_queue, events, item, pod_spec
from tests.conftest import dev_settings

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
    "container with no resources": (
        lambda: item(pod_spec(container(requests={}))),
        "containers[0].resources: container 'main' has no resources specified",
    ),
    "init container with no resources": (
        lambda: item(pod_spec(initContainers=[container(name="setup", requests={})])),
        "initContainers[0].resources: container 'setup' has no resources specified",
    ),
    "requests without limits": (
        lambda: item(pod_spec(container(requests={"cpu": "1", "memory": "1Gi"}, limits={}))),
        "requests and limits must name the same resources (requests: cpu, memory; limits: none)",
    ),
    "a limit without its request": (
        lambda: item(
            pod_spec(container(requests={"cpu": "1"}, limits={"cpu": "1", "memory": "1Gi"}))
        ),
        "requests and limits must name the same resources (requests: cpu; limits: cpu, memory)",
    ),
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
    "negative grace period": (
        lambda: item(pod_spec(terminationGracePeriodSeconds=-1)),
        "terminationGracePeriodSeconds: -1s is outside the allowed range [1s, 300s]",
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


def test_a_known_client_id_does_not_let_an_invalid_item_through(
    client: ArmadaClient, armada: EmbeddedArmada, queue: str
) -> None:
    """Armada validates the whole request before it looks at client ids."""
    original = client.submit_jobs(queue, "s", [item(client_id="a")]).job_response_items[0].job_id
    error = refused(client, armada, [item(client_id="a", namespace="")])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("job_request_items[0].namespace")
    error = refused(client, armada, [item(), item(client_id="a", pod=core.PodSpec())])
    assert error.details().startswith("job_request_items[1].pod_spec.containers")
    again = client.submit_jobs(queue, "s", [item(client_id="a"), item(client_id="b")])
    ids = [r.job_id for r in again.job_response_items]
    assert ids[0] == original and ids[1] != original


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


def test_gangs_are_made_fail_fast(client: ArmadaClient, armada: EmbeddedArmada, queue: str) -> None:
    gang = submit_one(client, annotations={GANG: "g1", CARDINALITY: "1"})
    single = submit_one(client)
    asked = submit_one(client, annotations={"armadaproject.io/failFast": "true"})
    stored = armada.system.storage.store.get_jobs([gang, single, asked])
    assert stored[gang].spec.fail_fast, "a gang is fail-fast though it did not ask"
    assert not stored[single].spec.fail_fast
    assert stored[asked].spec.fail_fast
    assert stored[gang].state is JobState.QUEUED


@contextmanager
def configured(tmp_path: Path, **submission: object) -> Iterator[ArmadaClient]:
    """A client of an Armada whose submission settings are ``submission``, with queue-a."""
    settings = dev_settings(tmp_path / "data", submission=submission)
    with EmbeddedArmada(settings) as running, grpc.insecure_channel(running.address) as channel:
        api = ArmadaClient(channel)
        create_queue(api)
        yield api


def tolerations(pod: core.PodSpec) -> list[tuple[str, str, str]]:
    return [(t.key, t.operator, t.effect) for t in pod.tolerations]


def test_default_tolerations_global_and_by_priority_class(tmp_path: Path) -> None:
    spot = {"key": "example.com/spot", "operator": "Exists", "effect": "NoSchedule"}
    cheap = {"key": "example.com/cheap", "operator": "Exists"}
    with configured(
        tmp_path,
        default_job_tolerations=[spot],
        default_job_tolerations_by_priority_class={"armada-preemptible": [cheap]},
    ) as api:
        plain = stored_pod(api, submit_one(api))
        assert tolerations(plain) == [("example.com/spot", "Exists", "NoSchedule")]
        preemptible = stored_pod(
            api, submit_one(api, pod=pod_spec(priorityClassName="armada-preemptible"))
        )
        assert tolerations(preemptible) == [
            ("example.com/spot", "Exists", "NoSchedule"),
            ("example.com/cheap", "Exists", ""),
        ]
        own = core.Toleration(key="example.com/spot", operator="Exists", effect="NoSchedule")
        kept = stored_pod(api, submit_one(api, pod=pod_spec(tolerations=[own])))
        assert tolerations(kept) == tolerations(plain), "a toleration the job has is not added"


def test_allowed_priority_class_names_narrow_the_configured_classes(tmp_path: Path) -> None:
    with configured(tmp_path, allowed_priority_class_names=["armada-preemptible"]) as api:
        with pytest.raises(grpc.RpcError) as err:
            submit_one(api, pod=pod_spec(priorityClassName="armada-default"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (
            "pod_spec.priorityClassName: priority class 'armada-default' is not allowed "
            "(allowed: armada-preemptible)" in err.value.details()
        )
        cheap = stored_pod(
            api, submit_one(api, pod=pod_spec(priorityClassName="armada-preemptible"))
        )
        assert cheap.priorityClassName == "armada-preemptible"
        # As in Armada, only a class the job names is checked; the default is the operator's.
        assert stored_pod(api, submit_one(api)).priorityClassName == "armada-default"


def test_restricted_toleration_keys_apply_to_the_users_tolerations_only(tmp_path: Path) -> None:
    with configured(tmp_path, restricted_toleration_keys=["nvidia.com/gpu"]) as api:
        own = core.Toleration(key="nvidia.com/gpu", operator="Exists")
        with pytest.raises(grpc.RpcError) as err:
            submit_one(api, pod=pod_spec(tolerations=[own]))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (
            "job_request_items[0].pod_spec.tolerations[0]: tolerating taint key "
            "'nvidia.com/gpu' is not allowed" in err.value.details()
        )
        # The server's own default toleration for GPU jobs is not the user's doing.
        gpu = container(requests={"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"})
        pod = stored_pod(api, submit_one(api, pod=pod_spec(gpu)))
        assert tolerations(pod) == [("nvidia.com/gpu", "Exists", "NoSchedule")]


def test_init_containers_are_checked_as_sent(tmp_path: Path) -> None:
    """With fractional CPU required of init containers, one that names no CPU is accepted:
    the whole CPU ``defaultJobLimits`` gives it is not the user's choice (Armada's order)."""
    with configured(tmp_path, assert_init_containers_request_fractional_cpu=True) as api:
        whole = container(name="setup", requests={"cpu": "1", "memory": "64Mi"})
        with pytest.raises(grpc.RpcError) as err:
            submit_one(api, pod=pod_spec(initContainers=[whole]))
        assert "fractional amount of cpu" in err.value.details()
        unnamed = container(name="setup", requests={"memory": "64Mi"})
        pod = stored_pod(api, submit_one(api, pod=pod_spec(initContainers=[unnamed])))
        assert pod.initContainers[0].resources.requests["cpu"].string == "1"

"""Random bad input through the public API, with Armada's own client over real gRPC.

Whatever is sent, every call is answered OK or refused with a clear status and a readable
sentence (never UNKNOWN or INTERNAL); a refused call stores nothing; the server keeps
answering; and every job it accepted can be read back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from armada_client.armada import event_pb2, job_pb2, submit_pb2
from armada_client.client import ArmadaClient
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core
from armada_client.k8s.io.apimachinery.pkg.api.resource import generated_pb2 as resource
from google.protobuf.message import DecodeError
from hypothesis import event, example, given
from hypothesis import strategies as st

from armada.dev.embedded import EmbeddedArmada
from tests.api_builders import container, create_queue, item, pod_spec
from tests.bad_input import (
    FUZZ,
    LONG,
    answer,
    cardinalities,
    doubles,
    int64s,
    maybe,
    names,
    quantities,
    resource_names,
)
from tests.conftest import dev_settings

GANG = "armadaproject.io/gangId"
CARDINALITY = "armadaproject.io/gangCardinality"
QUEUE = "queue-a"


@pytest.fixture(scope="module")
def armada(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedArmada]:
    """One API server for every example (no scheduler: nothing but requests writes the log)."""
    data = Path(tmp_path_factory.mktemp("fuzz")) / "data"
    with EmbeddedArmada(dev_settings(data), api_only=True) as running:
        yield running


@pytest.fixture(scope="module")
def client(armada: EmbeddedArmada) -> Iterator[ArmadaClient]:
    with grpc.insecure_channel(armada.address) as channel:
        armada_client = ArmadaClient(channel)
        create_queue(armada_client, QUEUE)
        yield armada_client
    assert armada.system.storage.log.head() > 0


def still_serving(client: ArmadaClient) -> None:
    assert client.submit_health().status == 1  # SERVING
    assert client.event_health().status == 1


def unchanged_on_refusal(
    armada: EmbeddedArmada, client: ArmadaClient, call: Any, *args: Any
) -> Any:
    head = armada.system.storage.log.head()
    response = answer(call, *args, what=call.__name__ if hasattr(call, "__name__") else "")
    if response is None:
        assert armada.system.storage.log.head() == head, "a refused request stored something"
    still_serving(client)
    return response


# --- pod specs -------------------------------------------------------------------------------


def resource_list(values: dict[str, str]) -> dict[str, resource.Quantity]:
    return {name: resource.Quantity(string=text) for name, text in values.items()}


@st.composite
def containers(draw: st.DrawFn) -> core.Container:
    requests = draw(
        st.one_of(
            st.just({"cpu": "150m", "memory": "64Mi"}),
            st.dictionaries(resource_names, quantities, max_size=3),
        )
    )
    limits = draw(
        st.one_of(st.just(requests), st.dictionaries(resource_names, quantities, max_size=3))
    )
    return core.Container(
        name=draw(names),
        image="busybox:latest",
        resources=core.ResourceRequirements(
            requests=resource_list(requests), limits=resource_list(limits)
        ),
        ports=[
            core.ContainerPort(containerPort=p)
            for p in draw(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=2))
        ],
    )


tolerations = st.builds(
    core.Toleration,
    key=names,
    operator=st.sampled_from(["", "Equal", "Exists", "Bogus"]),
    value=names,
    effect=st.sampled_from(["", "NoSchedule", "NoExecute", "PreferNoSchedule", "Odd"]),
    tolerationSeconds=int64s,
)

match_expressions = st.builds(
    core.NodeSelectorRequirement,
    key=names,
    operator=st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "", "Near"]),
    values=st.lists(names, max_size=3),
)


@st.composite
def affinities(draw: st.DrawFn) -> core.Affinity:
    terms = draw(
        st.lists(
            st.builds(
                core.NodeSelectorTerm, matchExpressions=st.lists(match_expressions, max_size=2)
            ),
            max_size=2,
        )
    )
    affinity = core.Affinity()
    if terms:
        affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.extend(
            terms
        )
    if draw(st.booleans()):
        affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution.add(
            weight=draw(st.integers(-5, 200))
        )
    return affinity


@st.composite
def pod_specs(draw: st.DrawFn) -> core.PodSpec:
    pod = core.PodSpec(
        restartPolicy=draw(st.sampled_from(["Never", "Always", "", "Sometimes"])),
        containers=draw(st.lists(containers(), max_size=3)),
        initContainers=draw(st.lists(containers(), max_size=1)),
        tolerations=draw(st.lists(tolerations, max_size=2)),
        nodeSelector=draw(st.dictionaries(names, names, max_size=2)),
        priorityClassName=draw(
            st.sampled_from(["", "armada-default", "armada-preemptible", "nope"])
        ),
    )
    for field in ("terminationGracePeriodSeconds", "activeDeadlineSeconds"):
        value = draw(maybe(int64s))
        if value is not None:
            setattr(pod, field, value)
    if draw(st.booleans()):
        pod.affinity.CopyFrom(draw(affinities()))
    return pod


ARMADA_KEYS = st.sampled_from([GANG, CARDINALITY, "armadaproject.io/failFast"])
annotation_values = st.one_of(cardinalities, names, st.sampled_from(["true", "false", "{JobId}"]))
annotations = st.dictionaries(st.one_of(ARMADA_KEYS, names), annotation_values, max_size=4)
# Names Kubernetes takes as label keys and values (DNS-1123 labels are a subset of both), so
# that plausible submissions get past the naming rules and reach the checks after them.
kube_names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True)
plausible_annotations = st.dictionaries(
    st.one_of(ARMADA_KEYS, kube_names), annotation_values, max_size=4
)


def mostly(good: Any, wild: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` two times in three, else something from ``wild``: requests then reach every
    check past the first, and some are accepted."""
    return st.one_of(st.just(good), st.just(good), wild)


@st.composite
def good_pods(draw: st.DrawFn) -> core.PodSpec:
    """A valid pod spec with random scheduling fields that are allowed."""
    pod = pod_spec(
        tolerations=draw(st.lists(tolerations.filter(lambda t: t.operator != "Bogus"), max_size=2)),
        nodeSelector=draw(st.dictionaries(kube_names, kube_names, max_size=2)),
    )
    pod.terminationGracePeriodSeconds = draw(st.integers(0, 300))
    return pod


@st.composite
def request_items(draw: st.DrawFn) -> submit_pb2.JobSubmitRequestItem:
    message = submit_pb2.JobSubmitRequestItem(
        priority=draw(mostly(1.0, doubles)),
        namespace=draw(mostly("default", names)),
        client_id=draw(mostly("", st.sampled_from(["c1", "x" * 101]) | names)),
        labels=draw(mostly({}, st.dictionaries(names, names, max_size=2))),
        annotations=draw(mostly({}, annotations)),
        required_node_labels=draw(st.dictionaries(names, names, max_size=1)),
    )
    pod = draw(st.one_of(good_pods(), good_pods(), pod_specs()))
    how = draw(mostly("pod_spec", st.sampled_from(["pod_specs", "both", "none"])))
    if how in ("pod_spec", "both"):
        message.pod_spec.CopyFrom(pod)
    if how in ("pod_specs", "both"):
        message.pod_specs.append(pod)
    return message


def check_submission(
    armada: EmbeddedArmada, client: ArmadaClient, queue: str, job_set: str, items: list[Any]
) -> None:
    request = submit_pb2.JobSubmitRequest(queue=queue, job_set_id=job_set, job_request_items=items)
    response = unchanged_on_refusal(armada, client, client.submit_stub.SubmitJobs, request)
    event("accepted" if response is not None else "refused")
    if response is None:
        return
    ids = [r.job_id for r in response.job_response_items]
    assert len(ids) == len(items)
    details = client.get_job_details(ids).job_details
    assert set(details) == set(ids), "an accepted job cannot be read back"


@FUZZ
@given(
    queue=mostly(QUEUE, names),
    job_set=mostly("s", names),
    items=st.lists(request_items(), min_size=1, max_size=3) | st.just([]),
)
@example(
    queue=QUEUE,
    job_set="s",
    items=[item(annotations={GANG: "g", CARDINALITY: "99999999999999999999999"})],
).via("a cardinality beyond 64 bits")
@example(queue=LONG, job_set="s", items=[item()]).via("a queue name longer than gRPC metadata")
def test_submissions_are_accepted_or_clearly_refused(
    armada: EmbeddedArmada, client: ArmadaClient, queue: str, job_set: str, items: list[Any]
) -> None:
    check_submission(armada, client, queue, job_set, items)


@FUZZ
@given(
    pods=st.lists(good_pods(), min_size=1, max_size=3),
    labels=st.dictionaries(kube_names, st.one_of(st.just(""), kube_names), max_size=3),
    annotations=plausible_annotations,
    priority=st.integers(0, 2**32 - 1),
    client_id=st.sampled_from(["", "c1", "c2"]),
)
def test_plausible_submissions_are_stored_whole(
    armada: EmbeddedArmada,
    client: ArmadaClient,
    pods: list[core.PodSpec],
    labels: dict[str, str],
    annotations: dict[str, str],
    priority: int,
    client_id: str,
) -> None:
    """Valid pods with odd labels, annotations and priorities: most are taken, and read back."""
    items = [
        item(pod, labels=labels, annotations=annotations, priority=priority, client_id=client_id)
        for pod in pods
    ]
    check_submission(armada, client, QUEUE, "plausible", items)


@FUZZ
@given(quantity=quantities, name=resource_names)
@example(quantity="1e400", name="cpu").via("a quantity beyond the log's 64-bit integers")
@example(quantity="1E+99999999", name="memory").via("a quantity beyond Decimal's exponents")
def test_any_quantity_is_accepted_or_clearly_refused(
    armada: EmbeddedArmada, client: ArmadaClient, quantity: str, name: str
) -> None:
    values = {"cpu": "150m", "memory": "64Mi", name: quantity}
    pod = pod_spec(container(requests=values))
    check_submission(armada, client, QUEUE, "quantities", [item(pod)])


@FUZZ
@given(raw=st.binary(max_size=200))
def test_random_bytes_as_a_pod_spec(
    armada: EmbeddedArmada, client: ArmadaClient, raw: bytes
) -> None:
    try:
        pod = core.PodSpec.FromString(raw)
    except (DecodeError, RuntimeWarning, UnicodeDecodeError):
        return
    check_submission(armada, client, QUEUE, "raw", [item(pod)])
    pod.containers.append(container())  # and the same bytes around a valid container
    check_submission(armada, client, QUEUE, "raw", [item(pod)])


# --- queues ----------------------------------------------------------------------------------

permissions = st.builds(
    submit_pb2.Queue.Permissions,
    subjects=st.lists(
        st.builds(
            submit_pb2.Queue.Permissions.Subject,
            kind=st.sampled_from(["User", "Group", "", "Robot"]),
            name=names,
        ),
        max_size=2,
    ),
    verbs=st.lists(
        st.sampled_from(["submit", "cancel", "reprioritize", "watch", "fly", ""]), max_size=2
    ),
)
queues = st.builds(
    submit_pb2.Queue,
    name=st.one_of(st.just(QUEUE), st.sampled_from(["q1", "q2"]), names),
    priority_factor=doubles,
    permissions=st.lists(permissions, max_size=2),
    labels=st.dictionaries(names, names, max_size=2),
    labels_deprecated=st.lists(names, max_size=2),
    user_owners=st.lists(names, max_size=2),
)


@FUZZ
@given(queue=queues, rpc=st.sampled_from(["CreateQueue", "UpdateQueue"]))
@example(queue=submit_pb2.Queue(name="q1", priority_factor=float("inf")), rpc="CreateQueue").via(
    "an infinite priority factor"
)
def test_queue_changes_are_accepted_or_clearly_refused(
    armada: EmbeddedArmada, client: ArmadaClient, queue: submit_pb2.Queue, rpc: str
) -> None:
    response = unchanged_on_refusal(armada, client, getattr(client.queue_stub, rpc), queue)
    if response is not None:
        stored = client.get_queue(queue.name)
        assert stored.priority_factor == queue.priority_factor


@FUZZ
@given(name=names)
def test_odd_queue_names_are_looked_up_or_clearly_refused(
    armada: EmbeddedArmada, client: ArmadaClient, name: str
) -> None:
    for call in (client.queue_stub.GetQueue, client.submit_stub.GetQueue):
        answer(call, submit_pb2.QueueGetRequest(name=name))
    for call, message in (
        (client.queue_stub.DeleteQueue, submit_pb2.QueueDeleteRequest(name=name + "-gone")),
        (client.queue_stub.CordonQueue, submit_pb2.QueueCordonRequest(name=name + "-gone")),
    ):
        unchanged_on_refusal(armada, client, call, message)


# --- commands on jobs ------------------------------------------------------------------------

job_ids = st.lists(
    st.one_of(st.sampled_from(["", "01hzzzzzzzzzzzzzzzzzzzzzzz", LONG]), names), max_size=4
)
states = st.lists(st.integers(-3, 20), max_size=3)


@FUZZ
@given(
    queue=st.one_of(st.just(QUEUE), names),
    job_set=st.one_of(st.just("s"), names),
    ids=job_ids,
    priority=doubles,
    filter_states=states,
    reason=names,
)
@example(queue=QUEUE, job_set="s", ids=[], priority=1.0, filter_states=[99], reason="")
def test_commands_on_jobs_are_answered_or_clearly_refused(
    armada: EmbeddedArmada,
    client: ArmadaClient,
    queue: str,
    job_set: str,
    ids: list[str],
    priority: float,
    filter_states: list[int],
    reason: str,
) -> None:
    stub = client.submit_stub
    for call, message in (
        (
            stub.CancelJobs,
            submit_pb2.JobCancelRequest(
                queue=queue, job_set_id=job_set, job_ids=ids, reason=reason
            ),
        ),
        (
            stub.CancelJobSet,
            submit_pb2.JobSetCancelRequest(
                queue=queue,
                job_set_id=job_set,
                reason=reason,
                filter=submit_pb2.JobSetFilter(states=filter_states),  # type: ignore[arg-type]
            ),
        ),
        (
            stub.ReprioritizeJobs,
            submit_pb2.JobReprioritizeRequest(
                queue=queue, job_set_id=job_set, job_ids=ids, new_priority=priority
            ),
        ),
        (
            stub.PreemptJobs,
            submit_pb2.JobPreemptRequest(
                queue=queue, job_set_id=job_set, job_ids=ids, reason=reason
            ),
        ),
        (
            client.queue_stub.CancelOnQueue,
            submit_pb2.QueueCancelRequest(name=queue, jobStates=filter_states),  # type: ignore[arg-type]
        ),
        (
            client.queue_stub.PreemptOnQueue,
            submit_pb2.QueuePreemptRequest(name=queue, priorityClasses=ids),
        ),
    ):
        unchanged_on_refusal(armada, client, call, message)


# --- events and queries ----------------------------------------------------------------------

message_ids = st.one_of(
    st.sampled_from(
        [
            "",
            "1:0",
            "0:0",
            "-1:0",
            "1:-1",
            "1",
            ":",
            "1:0:0",
            "1_0:0",
            " 1:0",
            "9" * 30 + ":0",
            "1:" + "9" * 30,
            "\u0663:0",
        ]
    ),
    names,
)


@FUZZ
@given(
    queue=st.one_of(st.just(QUEUE), names),
    job_set=st.one_of(st.just("s"), names),
    from_id=message_ids,
    missing=st.booleans(),
)
@example(queue=QUEUE, job_set="s", from_id="9" * 30 + ":0", missing=False).via(
    "an offset beyond 64 bits"
)
def test_event_streams_are_replayed_or_clearly_refused(
    client: ArmadaClient, queue: str, job_set: str, from_id: str, missing: bool
) -> None:
    request = event_pb2.JobSetRequest(
        queue=queue, id=job_set, from_message_id=from_id, errorIfMissing=missing
    )
    answer(
        lambda r: list(client.event_stub.GetJobSetEvents(r, timeout=10)),
        request,
        what="GetJobSetEvents",
    )
    still_serving(client)


@FUZZ
@given(ids=st.lists(st.one_of(names, st.just(LONG)), max_size=600))
def test_queries_answer_for_any_ids(client: ArmadaClient, ids: list[str]) -> None:
    answer(client.job_stub.GetJobStatus, job_pb2.JobStatusRequest(job_ids=ids), what="GetJobStatus")
    answer(
        client.job_stub.GetJobDetails, job_pb2.JobDetailsRequest(job_ids=ids), what="GetJobDetails"
    )
    answer(
        client.job_stub.GetJobRunDetails,
        job_pb2.JobRunDetailsRequest(run_ids=ids),
        what="GetJobRunDetails",
    )
    answer(client.job_stub.GetJobErrors, job_pb2.JobErrorsRequest(job_ids=ids), what="GetJobErrors")
    still_serving(client)


# --- what the fuzzing found, kept as plain regression tests ----------------------------------


def refusal(call: Any, *args: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call(*args)
    return err.value


@pytest.mark.parametrize(
    ("quantity", "said"),
    [("1e400", "too large"), ("1E+99999999", "too large"), ("-1e400", "too large")],
)
def test_absurd_quantities_are_refused_naming_the_field(
    client: ArmadaClient, quantity: str, said: str
) -> None:
    pod = pod_spec(container(requests={"cpu": quantity, "memory": "64Mi"}))
    err = refusal(client.submit_jobs, QUEUE, "s", [item(pod)])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "pod_spec.containers[0].resources.requests[cpu]" in err.details()
    assert said in err.details()


@pytest.mark.parametrize("cardinality", ["99999999999999999999999", "4294967296", " 2", "1_0"])
def test_gang_cardinalities_go_would_not_read_are_refused(
    client: ArmadaClient, cardinality: str
) -> None:
    err = refusal(
        client.submit_jobs, QUEUE, "s", [item(annotations={GANG: "g", CARDINALITY: cardinality})]
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"annotations[{CARDINALITY}]" in err.details()


def test_an_unknown_job_state_filter_is_refused_by_number(client: ArmadaClient) -> None:
    for call, message in (
        (
            client.submit_stub.CancelJobSet,
            submit_pb2.JobSetCancelRequest(
                queue=QUEUE,
                job_set_id="s",
                filter=submit_pb2.JobSetFilter(states=[99]),  # type: ignore[list-item]
            ),
        ),
        (
            client.queue_stub.CancelOnQueue,
            submit_pb2.QueueCancelRequest(name=QUEUE, jobStates=[99]),  # type: ignore[list-item]
        ),
    ):
        err = refusal(call, message)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "99 (no such state)" in err.details()


@pytest.mark.parametrize("message_id", ["9" * 30 + ":0", "1:" + "9" * 30, "1_0:0", " 1:0", "999:0"])
def test_message_ids_this_server_never_issued_are_refused(
    client: ArmadaClient, message_id: str
) -> None:
    request = event_pb2.JobSetRequest(queue=QUEUE, id="s", from_message_id=message_id)
    err = refusal(lambda r: list(client.event_stub.GetJobSetEvents(r)), request)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "from_message_id" in err.details()


def test_non_finite_priority_factors_are_refused(client: ArmadaClient) -> None:
    for factor in (float("inf"), float("-inf"), float("nan")):
        err = refusal(client.create_queue, submit_pb2.Queue(name="q-inf", priority_factor=factor))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "priority_factor" in err.details()


def test_an_error_about_a_huge_name_still_reaches_the_caller(client: ArmadaClient) -> None:
    """gRPC drops a status over its 8 KiB metadata limit ("Stream removed")."""
    for call, args, code in (
        (client.submit_jobs, (LONG, "s", [item()]), grpc.StatusCode.PERMISSION_DENIED),
        (client.get_queue, (LONG,), grpc.StatusCode.NOT_FOUND),
        (
            client.create_queue,
            (submit_pb2.Queue(name=LONG, priority_factor=1),),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ):
        err = refusal(call, *args)
        assert err.code() == code
        assert "20000 characters" in err.details()

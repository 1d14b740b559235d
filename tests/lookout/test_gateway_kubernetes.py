"""Kubernetes' types over REST travel as Armada's gateway writes them: quantities as strings,
IntOrString as the number or name, times as RFC 3339, inline structs in their parent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import httpx2
import msgspec
import pytest
from armada_client.armada import submit_pb2
from armada_client.client import ArmadaClient
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core
from armada_client.k8s.io.apimachinery.pkg.api.resource import generated_pb2 as resource
from armada_client.k8s.io.apimachinery.pkg.apis.meta.v1 import generated_pb2 as meta
from armada_client.k8s.io.apimachinery.pkg.util.intstr import generated_pb2 as intstr
from google.protobuf import json_format

from armada.dev.embedded import EmbeddedArmada
from armada.domain import events as ev
from armada.domain.jobs import JobSpec
from armada.domain.states import JobState
from armada.lookout.gateway.kubernetes_json import BadValue, decode_request, message_to_json
from armada.waiting import wait_until
from tests.api_builders import container, pod_spec
from tests.dev.test_end_to_end import running_dev
from tests.lookout.conftest import create_queue, pod
from tests.server.test_jobs_and_commands import scheduler_says

S = {"queue": "queue-a", "jobSetId": "s"}


def rest_pod() -> dict[str, Any]:
    """A pod spec the way a REST client of Armada writes it: quantities (``pod()``'s),
    ports, probes and volumes."""
    spec = pod()
    spec["containers"][0].update(
        ports=[{"name": "http", "containerPort": 8080}],
        livenessProbe={"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 5},
        readinessProbe={"tcpSocket": {"port": "http"}},
        volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}],
    )
    spec["volumes"] = [
        {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
        {"name": "settings", "configMap": {"name": "settings"}},
    ]
    return spec


def grpc_pod() -> core.PodSpec:
    """The same pod spec, built as armada-client's messages."""
    main = container(
        ports=[core.ContainerPort(name="http", containerPort=8080)],
        livenessProbe=core.Probe(
            handler=core.ProbeHandler(
                httpGet=core.HTTPGetAction(path="/", port=intstr.IntOrString(intVal=8080))
            ),
            periodSeconds=5,
        ),
        readinessProbe=core.Probe(
            handler=core.ProbeHandler(
                tcpSocket=core.TCPSocketAction(port=intstr.IntOrString(type=1, strVal="http"))
            )
        ),
        volumeMounts=[core.VolumeMount(name="scratch", mountPath="/scratch")],
    )
    scratch = core.VolumeSource(
        emptyDir=core.EmptyDirVolumeSource(sizeLimit=resource.Quantity(string="1Gi"))
    )
    settings = core.VolumeSource(
        configMap=core.ConfigMapVolumeSource(
            localObjectReference=core.LocalObjectReference(name="settings")
        )
    )
    return pod_spec(
        main,
        volumes=[
            core.Volume(name="scratch", volumeSource=scratch),
            core.Volume(name="settings", volumeSource=settings),
        ],
    )


def rest_submit(http: httpx2.Client, spec: dict[str, Any]) -> str:
    item = {"priority": 1, "namespace": "default", "podSpec": spec}
    response = http.post("/v1/job/submit", json={**S, "jobRequestItems": [item]})
    assert response.status_code == 200, response.text
    job_id: str = response.json()["jobResponseItems"][0]["jobId"]
    return job_id


def stored(armada: EmbeddedArmada, job_id: str) -> tuple[JobSpec, core.PodSpec]:
    """The job as the scheduler sees it, less what differs between two submissions."""
    job = armada.system.storage.store.get_job(job_id)
    assert job is not None
    spec = msgspec.structs.replace(job.spec, job_id="", submitted=0.0, pod_spec=b"")
    return spec, core.PodSpec.FromString(job.spec.pod_spec)


def test_a_rest_submit_in_armadas_form_schedules_as_the_grpc_submit(tmp_path: Path) -> None:
    with (
        running_dev(tmp_path, clusters=1, nodes_per_cluster=2) as armada,
        httpx2.Client(base_url=armada.http_url, timeout=30) as http,
        grpc.insecure_channel(armada.address) as channel,
    ):
        create_queue(http)
        by_rest = rest_submit(http, rest_pod())
        item = submit_pb2.JobSubmitRequestItem(priority=1, namespace="default", pod_spec=grpc_pod())
        response = ArmadaClient(channel).submit_jobs("queue-a", "s", [item])
        by_grpc = response.job_response_items[0].job_id
        assert stored(armada, by_rest) == stored(armada, by_grpc)

        def both_leased() -> bool:
            jobs = armada.system.storage.store.get_jobs([by_rest, by_grpc])
            return all(job.runs and job.state != JobState.QUEUED for job in jobs.values())

        wait_until(both_leased, what="both jobs scheduled")
        jobs = armada.system.storage.store.get_jobs([by_rest, by_grpc])
        assert jobs[by_rest].runs[0].pool == jobs[by_grpc].runs[0].pool


def test_details_and_the_event_stream_show_kubernetes_forms(
    http: httpx2.Client, armada: EmbeddedArmada
) -> None:
    create_queue(http)
    job_id = rest_submit(http, rest_pod())
    status = http.post("/v1/job/status", json={"jobIds": [job_id]})
    assert status.json() == {"jobStates": {job_id: "QUEUED"}}
    details = http.post("/v1/job/details", json={"jobIds": [job_id], "expandJobSpec": True})
    assert details.status_code == 200, details.text
    shown = details.json()["jobDetails"][job_id]["jobSpec"]["podSpec"]
    lines = http.post("/v1/job-set/queue-a/s", json={}).text.splitlines()
    submitted = json.loads(lines[0])["result"]["message"]["submitted"]
    for written in (shown, submitted["job"]["podSpec"]):
        main = written["containers"][0]
        requests = main["resources"]["requests"]  # with the defaults submission adds
        assert requests == {"cpu": "150m", "memory": "64Mi", "ephemeral-storage": "8Gi"}
        assert main["livenessProbe"] == {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 5}
        assert main["readinessProbe"] == {"tcpSocket": {"port": "http"}}
        assert written["volumes"] == rest_pod()["volumes"]
    assert isinstance(submitted["created"], str)


def test_utilisation_events_show_quantities_as_strings(
    http: httpx2.Client, armada: EmbeddedArmada
) -> None:
    create_queue(http)
    job_id = rest_submit(http, rest_pod())
    used = {"cpu": 250, "memory": 64 * 2**20 * 1000}
    scheduler_says(
        armada,
        ev.JobRunUtilisation(job_id=job_id, run_id="r-1", max_resources=used, cumulative=used),
    )
    lines = http.post("/v1/job-set/queue-a/s", json={}).text.splitlines()
    messages = [json.loads(line)["result"]["message"] for line in lines]
    utilisation = next(m["utilisation"] for m in messages if "utilisation" in m)
    assert utilisation["MaxResourcesForPeriod"] == {"cpu": "250m", "memory": "64Mi"}
    assert utilisation["totalCumulativeUsage"] == {"cpu": "250m", "memory": "64Mi"}


@pytest.mark.parametrize(
    ("where", "value", "words"),
    [
        ("resources", {"requests": {"cpu": "1.5.5"}}, "requests[cpu]: '1.5.5' is not a resource"),
        ("resources", {"limits": {"memory": True}}, "limits[memory]: expected a quantity"),
        ("livenessProbe", {"httpGet": {"port": 1.5}}, "port: expected a number or a name"),
    ],
)
def test_a_bad_value_is_a_400_naming_the_field_and_the_value(
    http: httpx2.Client, armada: EmbeddedArmada, where: str, value: Any, words: str
) -> None:
    create_queue(http)
    before = armada.system.storage.log.head()
    spec = rest_pod()
    spec["containers"][0][where] = value
    item = {"namespace": "default", "podSpec": spec}
    response = http.post("/v1/job/submit", json={**S, "jobRequestItems": [item]})
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert f"jobRequestItems[0].podSpec.containers[0].{where}." in message, message
    assert words in message, message
    assert armada.system.storage.log.head() == before


def test_the_protobuf_form_is_still_accepted(http: httpx2.Client, armada: EmbeddedArmada) -> None:
    create_queue(http)
    protobuf = json_format.MessageToDict(grpc_pod())
    assert protobuf["containers"][0]["resources"]["requests"]["cpu"] == {"string": "150m"}
    assert "volumeSource" in protobuf["volumes"][0]
    by_protobuf = rest_submit(http, protobuf)
    assert stored(armada, by_protobuf) == stored(armada, rest_submit(http, rest_pod()))


def test_times_and_managed_fields_round_trip() -> None:
    """The types no pod spec of the other tests holds: metav1.Time and FieldsV1."""
    metadata = meta.ObjectMeta(
        name="claim",
        creationTimestamp=meta.Time(seconds=1704207845),
        managedFields=[meta.ManagedFieldsEntry(fieldsV1=meta.FieldsV1(Raw=b'{"f:spec":{}}'))],
    )
    written = message_to_json(metadata)
    assert written["creationTimestamp"] == "2024-01-02T15:04:05Z"
    assert written["managedFields"] == [{"fieldsV1": {"f:spec": {}}}]
    decode_request(metadata.DESCRIPTOR, written)
    assert json_format.ParseDict(written, meta.ObjectMeta()) == metadata
    zoned = {"creationTimestamp": "2024-01-02T16:04:05.25+01:00"}
    decode_request(metadata.DESCRIPTOR, zoned)
    assert zoned["creationTimestamp"] == {"seconds": 1704207845, "nanos": 250000000}


@pytest.mark.parametrize(
    "value", ["2024-01-02", "2024-01-02T15:04:05", "2024-02-30T00:00:00Z", 1704207845, "now"]
)
def test_a_time_that_is_not_rfc_3339_is_refused_naming_the_field(value: Any) -> None:
    document = {"metadata": {"creationTimestamp": value}}
    with pytest.raises(BadValue, match=r"^metadata\.creationTimestamp: expected an RFC 3339"):
        decode_request(core.PersistentVolumeClaimTemplate.DESCRIPTOR, document)

"""plan_pod and the PodSpec → Kubernetes JSON conversion: pure, no I/O."""

from __future__ import annotations

import dataclasses

import pytest
from armada_client.k8s.io.api.core.v1 import generated_pb2 as k8s

from armada.domain.jobs import Gang, IngressConfig, ServiceConfig
from armada.executor.model import LeasedRun
from armada.executor.planning import PlanFailure, plan_pod, plan_pods
from armada.executor.podspec import InvalidPodSpec, pod_requests, pod_spec_to_json
from armada.executor.testing import pod_spec_bytes
from tests.executor.conftest import fast_settings


def lease(**overrides: object) -> LeasedRun:
    values: dict[str, object] = {
        "run_id": "run-1",
        "job_id": "01hq3job",
        "queue": "queue-a",
        "job_set": "my set/with spaces",
        "owner": "alice",
        "namespace": "team-a",
        "node": "node-7",
        "labels": {"app": "train", "armada_job_id": "spoofed"},
        "annotations": {"note": "job 01hq3job"},
        "pod_spec": pod_spec_bytes(
            ["sleep", "5"], env={"USER_VAR": "1", "ARMADA_QUEUE": "spoofed"}
        ),
    }
    values.update(overrides)
    return LeasedRun(**values)  # type: ignore[arg-type]


def test_the_pod_is_named_labelled_annotated_and_pinned_as_armada_does() -> None:
    plan = plan_pod(lease(), fast_settings())
    meta, spec = plan.pod["metadata"], plan.pod["spec"]
    assert (plan.pod_name, meta["name"], meta["namespace"]) == ("armada-01hq3job-0",) * 2 + (
        "team-a",
    )
    assert meta["labels"] == {
        "app": "train",
        "armada_job_id": "01hq3job",
        "armada_job_run_id": "run-1",
        "armada_queue_id": "queue-a",
        "armada_pod_number": "0",
        "armada_owner": "alice",
    }
    # the job set is not a valid label value: it travels as an annotation only
    assert meta["annotations"] == {
        "note": "job 01hq3job",
        "armada_jobset_id": "my set/with spaces",
        "armada_owner": "alice",
    }
    assert spec["nodeSelector"] == {"kubernetes.io/hostname": "node-7"}
    assert spec["restartPolicy"] == "Never"
    env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
    assert env == {
        "USER_VAR": "1",
        "ARMADA_JOB_ID": "01hq3job",
        "ARMADA_QUEUE": "queue-a",
        "ARMADA_JOB_SET_ID": "my set/with spaces",
    }


def test_gang_variables_and_a_custom_node_label() -> None:
    gang = Gang(id="g", cardinality=4, node_uniformity_label="zone")
    settings = fast_settings(node_id_label="example.com/node")
    plan = plan_pod(lease(gang=gang, gang_uniformity_value="z1"), settings)
    env = {e["name"]: e["value"] for e in plan.pod["spec"]["containers"][0]["env"]}
    assert env["ARMADA_GANG_ID"] == "g"
    assert env["ARMADA_GANG_CARDINALITY"] == "4"
    assert env["ARMADA_GANG_NODE_UNIFORMITY_LABEL_NAME"] == "zone"
    assert env["ARMADA_GANG_NODE_UNIFORMITY_LABEL_VALUE"] == "z1"
    assert plan.pod["spec"]["nodeSelector"] == {"example.com/node": "node-7"}


def test_services_and_ingresses_follow_the_job_configs() -> None:
    plan = plan_pod(
        lease(
            services=(
                ServiceConfig(type="Headless", ports=(7000,)),
                ServiceConfig(type="NodePort", ports=(80,), name="web"),
            ),
            ingress=(IngressConfig(ports=(8080,), tls_enabled=True, annotations={"a": "b"}),),
        ),
        fast_settings(),
    )
    services = {s["metadata"]["name"]: s for s in plan.services}
    assert sorted(services) == ["armada-01hq3job-0-headless", "armada-01hq3job-0-ingress-0", "web"]
    assert services["armada-01hq3job-0-headless"]["spec"]["clusterIP"] == "None"
    assert services["web"]["spec"]["type"] == "NodePort"
    assert services["web"]["spec"]["selector"] == {"armada_job_id": "01hq3job"}
    assert services["web"]["metadata"]["labels"]["armada_job_run_id"] == "run-1"
    (ingress,) = plan.ingresses
    host = "8080-armada-01hq3job-0.team-a.cluster.local"
    assert ingress["spec"]["rules"][0]["host"] == host
    assert ingress["spec"]["tls"] == [
        {"hosts": [host], "secretName": "team-a-ingress-tls-certificate"}
    ]
    assert ingress["metadata"]["annotations"] == {"a": "b"}
    assert plan.ingress_hosts == {8080: host}
    assert plan.service_ports == (7000, 80)


def test_a_bad_pod_spec_is_a_plan_failure_naming_the_job() -> None:
    plans = plan_pods(
        [
            lease(pod_spec=b"\xff\xff"),
            lease(run_id="run-2", pod_spec=k8s.PodSpec().SerializeToString()),
        ],
        fast_settings(),
    )
    assert all(isinstance(p, PlanFailure) for p in plans)
    assert "01hq3job" in plans[0].reason and "not a valid" in plans[0].reason  # type: ignore[union-attr]
    assert "no containers" in plans[1].reason  # type: ignore[union-attr]


def test_kubernetes_json_differs_from_proto_json_where_kubernetes_does() -> None:
    spec = k8s.PodSpec()
    container = spec.containers.add(name="main", image="img")
    container.resources.limits["memory"].string = "1Gi"
    container.livenessProbe.handler.httpGet.port.type = 0
    container.livenessProbe.handler.httpGet.port.intVal = 8080
    container.livenessProbe.periodSeconds = 5
    container.readinessProbe.handler.tcpSocket.port.type = 1
    container.readinessProbe.handler.tcpSocket.port.strVal = "http"
    volume = spec.volumes.add(name="cfg")
    volume.volumeSource.configMap.localObjectReference.name = "settings"
    spec.activeDeadlineSeconds = 7200
    spec.terminationGracePeriodSeconds = 10
    data = pod_spec_to_json(spec.SerializeToString())
    main = data["containers"][0]
    assert main["resources"] == {"limits": {"memory": "1Gi"}}
    assert main["livenessProbe"] == {"httpGet": {"port": 8080}, "periodSeconds": 5}
    assert main["readinessProbe"] == {"tcpSocket": {"port": "http"}}
    assert data["volumes"] == [{"name": "cfg", "configMap": {"name": "settings"}}]
    assert data["activeDeadlineSeconds"] == 7200 and isinstance(data["activeDeadlineSeconds"], int)
    assert data["terminationGracePeriodSeconds"] == 10


def test_pod_requests_take_the_larger_of_containers_and_init_containers() -> None:
    pod = {
        "spec": {
            "containers": [
                {"resources": {"requests": {"cpu": "500m"}}},
                {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}},
            ],
            "initContainers": [{"resources": {"limits": {"cpu": "4"}}}],
        }
    }
    assert pod_requests(pod) == {"cpu": 4000, "memory": 2**30 * 1000}
    with pytest.raises(InvalidPodSpec, match="cpu"):
        pod_requests(
            {"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "lots"}}}]}}
        )


def test_plans_do_not_share_state_between_leases() -> None:
    first = plan_pod(lease(), fast_settings())
    second = plan_pod(dataclasses.replace(lease(), run_id="run-2", job_id="other"), fast_settings())
    assert first.pod["spec"]["containers"][0]["env"] != second.pod["spec"]["containers"][0]["env"]

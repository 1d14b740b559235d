"""What to create for a lease: a pure function from leases to pod, service and ingress manifests.

One pod per run, named ``armada-<jobId>-0`` as Armada names it, pinned to the lease's node by a
nodeSelector on the node-id label, carrying Armada's labels and annotations and the environment
variables Armada injects (``ARMADA_JOB_ID``, ``ARMADA_QUEUE``, ``ARMADA_JOB_SET_ID`` and the gang
variables). Services and ingresses follow the job's configs. Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from armada.config.executor import ExecutorConfig
from armada.executor.model import (
    JOB_ID_LABEL,
    JOB_SET_LABEL,
    OWNER_LABEL,
    POD_NUMBER_LABEL,
    QUEUE_LABEL,
    RUN_ID_LABEL,
    LeasedRun,
    Manifest,
    PodPlan,
)
from armada.executor.podspec import InvalidPodSpec, pod_spec_to_json

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class PlanFailure:
    """A lease whose pod cannot even be described (bad pod spec): the run fails."""

    lease: LeasedRun
    reason: str


def pod_name(job_id: str, pod_number: int = 0) -> str:
    return f"armada-{job_id}-{pod_number}"


def plan_pods(leases: Iterable[LeasedRun], settings: ExecutorConfig) -> list[PodPlan | PlanFailure]:
    """One plan per lease, in order; a lease that cannot be planned gives a PlanFailure."""
    plans: list[PodPlan | PlanFailure] = []
    for lease in leases:
        try:
            plans.append(plan_pod(lease, settings))
        except InvalidPodSpec as exc:
            plans.append(PlanFailure(lease, f"job {lease.job_id}: {exc}"))
    return plans


def plan_pod(lease: LeasedRun, settings: ExecutorConfig) -> PodPlan:
    """The pod (plus services and ingresses) that runs ``lease``."""
    spec = pod_spec_to_json(lease.pod_spec)
    name = pod_name(lease.job_id)
    labels = _labels(lease)
    annotations = {
        **lease.annotations,
        JOB_SET_LABEL: lease.job_set,
        OWNER_LABEL: lease.owner,
    }
    _inject_env(spec, armada_env(lease))
    if lease.node:
        spec["nodeSelector"] = {**spec.get("nodeSelector", {}), settings.node_id_label: lease.node}
    spec.setdefault("restartPolicy", "Never")
    pod: Manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": lease.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec,
    }
    services, ingresses, hosts, ports = _networking(lease, name, labels, settings)
    return PodPlan(
        run_id=lease.run_id,
        job_id=lease.job_id,
        namespace=lease.namespace,
        pod_name=name,
        node=lease.node,
        pod=pod,
        services=services,
        ingresses=ingresses,
        ingress_hosts=hosts,
        service_ports=ports,
    )


def _labels(lease: LeasedRun) -> dict[str, str]:
    labels = {
        **lease.labels,
        JOB_ID_LABEL: lease.job_id,
        RUN_ID_LABEL: lease.run_id,
        QUEUE_LABEL: lease.queue,
        POD_NUMBER_LABEL: "0",
    }
    # Job set and owner may hold characters a label value cannot; they are always annotations.
    for key, value in ((JOB_SET_LABEL, lease.job_set), (OWNER_LABEL, lease.owner)):
        if len(value) <= 63 and _LABEL_VALUE.match(value):
            labels[key] = value
    return labels


def armada_env(lease: LeasedRun) -> dict[str, str]:
    """The variables Armada sets in every container of the job's pod."""
    env = {
        "ARMADA_JOB_ID": lease.job_id,
        "ARMADA_QUEUE": lease.queue,
        "ARMADA_JOB_SET_ID": lease.job_set,
    }
    if lease.gang is not None:
        env["ARMADA_GANG_ID"] = lease.gang.id
        env["ARMADA_GANG_CARDINALITY"] = str(lease.gang.cardinality)
        if lease.gang.node_uniformity_label:
            env["ARMADA_GANG_NODE_UNIFORMITY_LABEL_NAME"] = lease.gang.node_uniformity_label
            env["ARMADA_GANG_NODE_UNIFORMITY_LABEL_VALUE"] = lease.gang_uniformity_value
    return env


def _inject_env(spec: dict[str, Any], env: Mapping[str, str]) -> None:
    for key in ("containers", "initContainers"):
        for container in spec.get(key, []):
            kept = [item for item in container.get("env", []) if item.get("name") not in env]
            container["env"] = kept + [{"name": n, "value": v} for n, v in env.items()]


def _networking(
    lease: LeasedRun, name: str, labels: Mapping[str, str], settings: ExecutorConfig
) -> tuple[tuple[Manifest, ...], tuple[Manifest, ...], dict[int, str], tuple[int, ...]]:
    owned = {k: labels[k] for k in (JOB_ID_LABEL, RUN_ID_LABEL, QUEUE_LABEL)}
    selector = {JOB_ID_LABEL: lease.job_id}
    services: list[Manifest] = []
    ports: list[int] = []
    for service in lease.services:
        headless = service.type.lower() == "headless"
        service_name = service.name or f"{name}-{'headless' if headless else 'nodeport'}"
        kind = "Headless" if headless else "NodePort"
        services.append(
            _service(service_name, lease.namespace, owned, selector, service.ports, kind=kind)
        )
        ports.extend(service.ports)
    ingresses: list[Manifest] = []
    hosts: dict[int, str] = {}
    ingress_settings = settings.kubernetes.ingress
    for index, config in enumerate(lease.ingress):
        service_name = f"{name}-ingress-{index}"
        services.append(
            _service(
                service_name,
                lease.namespace,
                owned,
                selector,
                config.ports,
                kind="ClusterIP" if config.use_cluster_ip else "Headless",
            )
        )
        rules = []
        for port in config.ports:
            host = f"{port}-{name}.{lease.namespace}.{ingress_settings.hostname_suffix}"
            hosts[port] = host
            rules.append(_ingress_rule(host, service_name, port))
        spec: Manifest = {"rules": rules}
        if config.tls_enabled:
            secret = config.cert_name or f"{lease.namespace}-{ingress_settings.cert_name_suffix}"
            spec["tls"] = [{"hosts": [r["host"] for r in rules], "secretName": secret}]
        ingresses.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": f"{name}-ingress-{index}",
                    "namespace": lease.namespace,
                    "labels": owned,
                    "annotations": {**ingress_settings.annotations, **config.annotations},
                },
                "spec": spec,
            }
        )
    return tuple(services), tuple(ingresses), hosts, tuple(ports)


def _service(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    selector: Mapping[str, str],
    ports: Iterable[int],
    *,
    kind: str,
) -> Manifest:
    """A Service manifest; ``kind`` is NodePort, ClusterIP or Headless."""
    spec: Manifest = {
        "selector": dict(selector),
        "ports": [
            {"name": f"port-{p}", "port": p, "targetPort": p, "protocol": "TCP"} for p in ports
        ],
    }
    if kind == "Headless":
        spec["clusterIP"] = "None"
    else:
        spec["type"] = kind
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": spec,
    }


def _ingress_rule(host: str, service: str, port: int) -> Manifest:
    return {
        "host": host,
        "http": {
            "paths": [
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": service, "port": {"number": port}}},
                }
            ]
        },
    }

"""The simulated farm of ``armada dev``: N executors, each with its own cluster backend.

Every executor talks to the scheduler over gRPC on loopback exactly as a remote one would; only
the clusters are simulated (``fake``) or local (``process``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from armada.config.dev import DevSettings
from armada.config.executor import ExecutorConfig, NodeGroupSettings, ProcessClusterSettings
from armada.domain.clock import Clock
from armada.domain.resources import InvalidQuantity, parse_quantity
from armada.executor import Cluster, build_cluster, run_executor
from armada.executor.logs import PodLocation
from armada.executor.metrics import ExecutorCollector
from armada.views.store import QueryStore

log = logging.getLogger(__name__)


class FarmError(ValueError):
    """The farm's shape in the settings is wrong; the message says how."""


def parse_node_resources(text: str) -> dict[str, str]:
    """``cpu=32,memory=256Gi`` -> {"cpu": "32", "memory": "256Gi", "ephemeral-storage": "1Ti"}."""
    resources: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, quantity = part.partition("=")
        if not sep or not name.strip():
            raise FarmError(f"node resources: {part!r} is not name=quantity")
        try:
            parse_quantity(quantity.strip())
        except InvalidQuantity as exc:
            raise FarmError(f"node resources: {name.strip()}: {exc}") from None
        resources[name.strip()] = quantity.strip()
    if not resources:
        raise FarmError("node resources: at least one resource is needed (e.g. cpu=32)")
    resources.setdefault("ephemeral-storage", "1Ti")
    return resources


def node_groups(settings: DevSettings, cluster_id: str) -> list[NodeGroupSettings]:
    """The simulated cluster's nodes: the default group (``nodesPerCluster`` nodes of
    ``nodeResources``) plus the groups the config gives in ``executor.fake.nodeGroups``, every
    name prefixed with the cluster's id so that node names are unique across clusters."""
    groups = []
    if settings.nodes_per_cluster:
        groups.append(
            NodeGroupSettings(
                name=f"{cluster_id}-node",
                count=settings.nodes_per_cluster,
                resources=parse_node_resources(settings.node_resources),
            )
        )
    fake = settings.executor.fake
    if "node_groups" in fake.model_fields_set:  # given, not FakeClusterSettings' default
        groups += [
            g.model_copy(update={"name": f"{cluster_id}-{g.name}"}) for g in fake.node_groups
        ]
    names = [g.name for g in groups]
    for name in names:
        if names.count(name) > 1:
            raise FarmError(
                f"node groups: two groups would be named {name!r} (the default group is "
                f"{cluster_id}-node)"
            )
    if settings.backend == "fake" and not any(g.count for g in groups):
        raise FarmError("the simulated clusters have no nodes: set nodesPerCluster or nodeGroups")
    return groups


def executor_settings(settings: DevSettings, index: int, address: str) -> ExecutorConfig:
    cluster_id = f"cluster-{index + 1}"
    base = settings.executor
    fake = base.fake.model_copy(update={"node_groups": node_groups(settings, cluster_id)})
    process = process_settings(settings, cluster_id)
    return base.model_copy(
        update={
            "cluster_id": cluster_id,
            "scheduler_address": address,
            "backend": settings.backend,
            "fake": fake,
            "process": process,
        }
    )


def process_settings(settings: DevSettings, cluster_id: str) -> ProcessClusterSettings:
    """The process backend's node offers this machine's resources (its CPUs, memory and the
    free disk of the data directory, where pods write) unless ``--node-resources`` (or the
    config's ``nodeResources``) is given; ``executor.process.resources`` replace single
    resources of the machine's. ``nodeResources``' default describes simulated nodes only."""
    process = settings.executor.process
    update: dict[str, Any] = {}
    if "node_resources" in settings.model_fields_set:
        update["resources"] = parse_node_resources(settings.node_resources)
    if not process.log_dir:
        update["log_dir"] = str(settings.storage.data_dir / "process" / cluster_id)
    return process.model_copy(update=update)


@dataclass
class Farm:
    clusters: dict[str, Cluster] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for cluster in self.clusters.values():
            await cluster.close()


def start_farm(
    settings: DevSettings,
    address: str,
    clusters: dict[str, Cluster],
    clock: Clock | None = None,
    registry: CollectorRegistry | None = None,
) -> Farm:
    """Start one executor per simulated cluster, all talking to ``address``; each cluster is
    also put in ``clusters`` (the logs service reads from there), their metrics in
    ``registry`` if given."""
    farm = Farm(clusters=clusters)
    metrics: ExecutorCollector | None = None
    if registry is not None:
        metrics = ExecutorCollector()
        registry.register(metrics)
    for index in range(settings.clusters):
        executor = executor_settings(settings, index, address)
        cluster = build_cluster(executor, clock=clock)
        farm.clusters[executor.cluster_id] = cluster
        farm.tasks.append(
            asyncio.create_task(
                run_executor(executor, cluster, clock=clock, metrics=metrics),
                name=f"executor-{executor.cluster_id}",
            )
        )
    if settings.clusters:
        nodes = sum(g.count for g in node_groups(settings, "cluster-1"))
        log.info(
            "started %d %s executor(s) of %d nodes", settings.clusters, settings.backend, nodes
        )
    return farm


def pod_locator(store: QueryStore) -> Callable[[str], PodLocation | None]:
    """Where a job's (latest) pod is, from the query store: for the logs service."""

    def locate(job_id: str) -> PodLocation | None:
        job = store.get_job(job_id)
        if job is None or job.latest_run is None:
            return None
        run = job.latest_run
        return PodLocation(
            cluster=run.executor,
            pod_name=run.pod_name or f"armada-{job_id}-0",
            namespace=run.namespace or job.spec.namespace,
        )

    return locate

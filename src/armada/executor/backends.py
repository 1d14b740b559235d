"""Building the cluster backend an executor's settings name."""

from __future__ import annotations

from armada.config.executor import ExecutorConfig
from armada.domain.clock import Clock
from armada.executor.cluster import Cluster
from armada.executor.fake import FakeCluster
from armada.executor.process import ProcessCluster


def build_cluster(settings: ExecutorConfig, *, clock: Clock | None = None) -> Cluster:
    """The ``fake``, ``process`` or ``kubernetes`` backend, configured from ``settings``."""
    if settings.backend == "fake":
        return FakeCluster(
            settings.fake,
            name=settings.cluster_id,
            node_id_label=settings.node_id_label,
            clock=clock,
        )
    if settings.backend == "process":
        return ProcessCluster(
            settings.process,
            name=settings.cluster_id,
            node_id_label=settings.node_id_label,
            clock=clock,
        )
    from armada.executor.kubernetes import KubernetesCluster

    return KubernetesCluster.from_settings(settings)

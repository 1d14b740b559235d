"""The Kubernetes backend (the only part of Armada that imports the ``kubernetes`` client)."""

from armada.executor.kubernetes.backend import KubernetesCluster

__all__ = ["KubernetesCluster"]

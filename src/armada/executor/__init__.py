"""The executor: one per cluster, it turns leases from the scheduler into pods and reports.

Public entry points (see docs/executor.md):

- :func:`run_executor` / :class:`ExecutorAgent`: the executor process itself;
- :func:`build_cluster`: the backend named by the settings (``fake``, ``process``,
  ``kubernetes``); :class:`FakeCluster` and :class:`ProcessCluster` directly;
  ``armada.executor.kubernetes.KubernetesCluster`` for real clusters;
- :class:`BinocularsLogService` / :class:`LogSource`: job logs for Armada's ``Logs`` RPC;
- :func:`serve_executor`: what ``armada executor`` runs (the agent, and Binoculars beside it);
- :mod:`armada.executor.testing`: a fake scheduler for tests and benchmarks.
"""

from armada.executor.agent import ExecutorAgent, run_executor
from armada.executor.backends import build_cluster
from armada.executor.cluster import Cluster, ClusterError, PodNotFound
from armada.executor.fake import FakeCluster
from armada.executor.logs import BinocularsLogService, LogsNotFound, LogSource, PodLocation
from armada.executor.process import ProcessCluster
from armada.executor.standalone import serve_executor

__all__ = [
    "BinocularsLogService",
    "Cluster",
    "ClusterError",
    "ExecutorAgent",
    "FakeCluster",
    "LogSource",
    "LogsNotFound",
    "PodLocation",
    "PodNotFound",
    "ProcessCluster",
    "build_cluster",
    "run_executor",
    "serve_executor",
]

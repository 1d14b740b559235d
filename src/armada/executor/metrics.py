"""The executor's Prometheus metrics: its nodes' capacity, what its pods request, and its pods
by phase, read at scrape time from what the agent already knows (Armada's ``armada_executor_*``
names; docs/metrics.md lists both).

Every metric has a ``cluster`` label, so that the simulated executors of ``armada dev`` can
share one registry. The agent runs on the process's event loop, and so does a scrape: what
they read never changes under them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from armada.domain.resources import parse_valid_quantities
from armada.executor.model import QUEUE_LABEL, NodeView
from armada.executor.podspec import InvalidPodSpec, pod_requests
from armada.executor.run_stages import TrackedRun
from armada.executor.runs import RunTracker

MILLI = 1000.0
# A run without a pod yet (leased, its pod being created), as Armada's executor names it.
LEASED_PHASE = "Leased"


def _queue_and_phase(record: TrackedRun) -> tuple[str, str]:
    pod = record.pod
    queue = record.lease.queue if record.lease is not None else ""
    if pod is None:
        return queue, LEASED_PHASE
    return queue or pod.labels.get(QUEUE_LABEL, ""), pod.phase or LEASED_PHASE


class ExecutorCollector(Collector):
    """Node and pod gauges of the executors of a process (one in ``armada executor``, one per
    simulated cluster in ``armada dev``): one family per metric, whatever their number, as
    the text format requires."""

    def __init__(self) -> None:
        self._executors: dict[str, tuple[Callable[[], list[NodeView]], RunTracker]] = {}
        self._requests: dict[str, dict[str, int]] = {}  # run id -> its pod's request

    def add(self, cluster: str, nodes: Callable[[], list[NodeView]], tracker: RunTracker) -> None:
        """Count an executor: ``nodes`` gives its nodes as last listed, ``tracker`` its runs."""
        self._executors[cluster] = (nodes, tracker)

    def remove(self, cluster: str) -> None:
        self._executors.pop(cluster, None)

    def collect(self) -> Iterator[Metric]:
        node_families = _node_families()
        pod_families = _pod_families()
        seen: dict[str, dict[str, int]] = {}
        for cluster, (nodes, tracker) in sorted(self._executors.items()):
            _add_nodes(node_families, cluster, nodes())
            self._add_pods(pod_families, cluster, tracker, seen)
        self._requests = seen  # forget the runs that are gone
        yield from node_families
        yield from pod_families

    def _add_pods(
        self,
        families: tuple[GaugeMetricFamily, GaugeMetricFamily],
        cluster: str,
        tracker: RunTracker,
        seen: dict[str, dict[str, int]],
    ) -> None:
        pods, requested = families
        counts: dict[tuple[str, str], int] = {}
        sums: dict[tuple[str, str, str], float] = {}
        for record in tracker.runs():
            key = _queue_and_phase(record)
            counts[key] = counts.get(key, 0) + 1
            request = self._request_of(record)
            seen[record.run_id] = request
            for name, milli in request.items():
                slot = (*key, name)
                sums[slot] = sums.get(slot, 0.0) + milli / MILLI
        for (queue, phase), n in sorted(counts.items()):
            pods.add_metric([cluster, queue, phase], n)
        for (queue, phase, name), value in sorted(sums.items()):
            requested.add_metric([cluster, queue, phase, name], value)

    def _request_of(self, record: TrackedRun) -> dict[str, int]:
        known = self._requests.get(record.run_id)
        if known or record.plan is None:
            return known or {}
        try:
            return pod_requests(record.plan.pod)
        except InvalidPodSpec:
            return {}


def _node_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "armada_executor_available_node_count",
            "Nodes available for Armada jobs (not cordoned)",
            labels=["cluster"],
        ),
        GaugeMetricFamily(
            "armada_executor_available_node_resource_total",
            "Total resources of the nodes available for Armada jobs",
            labels=["cluster", "resourceType"],
        ),
        GaugeMetricFamily(
            "armada_executor_available_node_resource_allocatable",
            "Resources of the available nodes left to Armada (less what other pods use)",
            labels=["cluster", "resourceType"],
        ),
    )


def _pod_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "armada_executor_job_pod",
            "Armada's pods (and runs whose pod is being created) by queue and phase",
            labels=["cluster", "queue", "phase"],
        ),
        GaugeMetricFamily(
            "armada_executor_job_pod_resource_request",
            "Resources requested by Armada's pods, by queue and phase",
            labels=["cluster", "queue", "phase", "resourceType"],
        ),
    )


def _add_nodes(
    families: tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily],
    cluster: str,
    listed: list[NodeView],
) -> None:
    count, total, allocatable = families
    nodes = [n for n in listed if not n.unschedulable]
    sums: dict[str, float] = {}
    left: dict[str, float] = {}
    for node in nodes:
        offered = parse_valid_quantities(node.allocatable)
        used = parse_valid_quantities(node.non_armada_allocated)
        for name, milli in offered.items():
            sums[name] = sums.get(name, 0.0) + milli / MILLI
            left[name] = left.get(name, 0.0) + max(0, milli - used.get(name, 0)) / MILLI
    count.add_metric([cluster], len(nodes))
    for name in sorted(sums):
        total.add_metric([cluster, name], sums[name])
        allocatable.add_metric([cluster, name], left[name])

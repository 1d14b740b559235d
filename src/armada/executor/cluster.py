"""The one seam between the executor and a cluster: the :class:`Cluster` protocol.

Three backends implement it: ``fake`` (a simulated cluster in memory), ``process`` (containers
run as local processes) and ``kubernetes`` (a real cluster through the official client). The
agent never knows which one it talks to. Everything is async; pods are described by Kubernetes
manifests going in (:class:`~armada.executor.model.PodPlan`) and :class:`PodView` coming out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from armada.executor.model import NodeView, PodEvent, PodLogLine, PodPlan, PodView, RunResource


class ClusterError(Exception):
    """A cluster call failed. ``fatal`` means retrying cannot help (e.g. the pod was refused)."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


class PodNotFound(ClusterError):
    """The pod asked for does not exist."""


@dataclass(frozen=True, slots=True)
class PodSnapshot:
    """Every Armada pod in the cluster: sent first on a watch, and again after a re-list."""

    pods: list[PodView]


@dataclass(frozen=True, slots=True)
class PodChange:
    kind: Literal["ADDED", "MODIFIED", "DELETED"]
    pod: PodView


WatchItem = PodSnapshot | PodChange
PodKey = tuple[str, str]


class Cluster(Protocol):
    """What the executor needs from a cluster."""

    name: str

    async def create_run(self, plan: PodPlan) -> None:
        """Create the run's pod, services and ingresses. Raises ClusterError.

        Creating a pod that already exists for the same run succeeds (the call is idempotent).
        """
        ...

    async def delete_pod(
        self, namespace: str, name: str, *, run_id: str, grace: float | None, force: bool = False
    ) -> bool:
        """Delete a run's pod; True if it is gone now, False if it is terminating.

        A pod that does not exist (or belongs to another run) counts as gone.
        """
        ...

    def watch_pods(self) -> AsyncIterator[WatchItem]:
        """A PodSnapshot of all Armada pods, then their changes, forever."""
        ...

    async def list_nodes(self) -> list[NodeView]:
        """The cluster's nodes, with what non-Armada pods hold on each."""
        ...

    async def pod_events(self, pods: Sequence[PodKey]) -> dict[PodKey, list[PodEvent]]:
        """Kubernetes events about the given pods, oldest first."""
        ...

    async def list_run_resources(self) -> list[RunResource]:
        """Services and ingresses Armada created."""
        ...

    async def delete_resource(self, resource: RunResource) -> None: ...

    async def read_log(
        self,
        namespace: str,
        name: str,
        *,
        container: str = "",
        since_time: str = "",
        tail_lines: int | None = None,
    ) -> list[PodLogLine]:
        """The pod's output. Raises PodNotFound."""
        ...

    async def close(self) -> None: ...

"""The fake backend: a simulated cluster of nodes in memory, on an injected clock.

Faithful where the executor can tell: a pod binds to the node it is pinned to (nodeSelector on
the node-id label, or ``nodeName``) if that node exists, is schedulable, tolerates-wise admits
it and has room; otherwise it stays Pending with a FailedScheduling event, as with
kube-scheduler. A bound pod is Pending for the startup delay, Running for its runtime (see
:mod:`armada.executor.fake_scenario`), then Succeeded or Failed with container statuses as the
kubelet writes them (exit codes, ``OOMKilled``, pod reasons ``Evicted`` and
``DeadlineExceeded``, waiting reasons ``ErrImagePull`` and ``InvalidImageName``). It enforces
``activeDeadlineSeconds`` itself. Deleting a running pod is graceful (it terminates, then goes).
A pod in a namespace not in ``namespaces`` is refused (``namespaces "x" not found``). Nothing
survives a restart: the scheduler sees the started runs go missing and gives them back.
The nodes and where a pod binds are :mod:`armada.executor.fake_nodes`'s; what the kubelet
reports of a pod (statuses, reasons, events, output), :mod:`armada.executor.fake_kubelet`'s.

Time only moves through ``clock.now()``. With ``auto_advance`` (the default) a driver task
wakes when the next pod is due; with a manual clock, tests call :meth:`FakeCluster.step`. The
cost is a heap push per transition, so 1,000 nodes and 10,000 pods are cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import itertools
import random
from collections.abc import AsyncIterator, Sequence

from armada.config.executor import FakeClusterSettings
from armada.domain.clock import Clock, SystemClock
from armada.executor.cluster import ClusterError, PodKey, PodNotFound, WatchItem
from armada.executor.fake_kubelet import DEADLINE_MESSAGE, Ending, SimulatedPod, pod_event
from armada.executor.fake_nodes import build_nodes, choose_node, why_unschedulable
from armada.executor.fake_scenario import InvalidScenario, scenario_of
from armada.executor.logtext import filter_lines
from armada.executor.model import (
    ContainerView,
    NodeView,
    PodEvent,
    PodLogLine,
    PodPlan,
    PodView,
    RunResource,
)
from armada.executor.podspec import (
    InvalidPodSpec,
    active_deadline,
    command_line,
    containers,
    pod_requests,
)
from armada.executor.podstore import PodStore
from armada.executor.usage import PodUsage, as_requested


class FakeCluster:
    """A simulated cluster implementing :class:`~armada.executor.cluster.Cluster`."""

    def __init__(
        self,
        settings: FakeClusterSettings,
        *,
        name: str = "fake",
        node_id_label: str = "kubernetes.io/hostname",
        clock: Clock | None = None,
        seed: int = 0,
        auto_advance: bool = True,
    ) -> None:
        self.name = name
        self._settings = settings
        self._node_id_label = node_id_label
        self._clock = clock or SystemClock()
        self._rng = random.Random(seed)
        self._auto = auto_advance
        self._store = PodStore()
        self._pods: dict[PodKey, SimulatedPod] = {}
        self._unbound: set[PodKey] = set()
        self._resources: dict[tuple[str, str, str], RunResource] = {}
        self._timers: list[tuple[float, int, str, PodKey, int]] = []
        self._seq = itertools.count()
        self._ips = itertools.count(1)
        self._nodes = build_nodes(settings, node_id_label)
        self._namespaces = frozenset(settings.namespaces)
        self._wake: asyncio.Event | None = None
        self._driver: asyncio.Task[None] | None = None

    # --- Cluster ------------------------------------------------------------------------------

    async def create_run(self, plan: PodPlan) -> None:
        self._ensure_driver()
        key = (plan.namespace, plan.pod_name)
        existing = self._store.get(*key)
        if existing is not None:
            if existing.run_id == plan.run_id:
                return
            raise ClusterError(f'pods "{plan.pod_name}" already exists')
        if plan.namespace not in self._namespaces:
            raise ClusterError(f'namespaces "{plan.namespace}" not found', fatal=True)
        pod = self._admit(plan)
        self._pods[key] = pod
        for manifest in plan.services + plan.ingresses:
            meta = manifest["metadata"]
            resource = RunResource(
                kind=manifest["kind"],
                namespace=plan.namespace,
                name=meta["name"],
                run_id=plan.run_id,
            )
            self._resources[(resource.kind, resource.namespace, resource.name)] = resource
        now = self._clock.now()
        self._store.put(
            PodView(
                name=plan.pod_name,
                namespace=plan.namespace,
                labels=plan.pod["metadata"]["labels"],
                annotations=plan.pod["metadata"]["annotations"],
                containers=tuple(
                    ContainerView(name=n, reason="ContainerCreating") for n in pod.scenario.runtimes
                ),
                created=now,
                active_deadline=pod.deadline,
                resource_version=self._store.next_version(),
            )
        )
        self._try_bind(key, now)

    def _admit(self, plan: PodPlan) -> SimulatedPod:
        try:
            argv = [(c.get("name", "main"), command_line(c)) for c in containers(plan.pod)]
            scenario = scenario_of(
                plan.pod["metadata"].get("annotations", {}),
                argv,
                self._settings.default_runtime.total_seconds(),
                self._rng,
            )
            requests = pod_requests(plan.pod)
        except (InvalidScenario, InvalidPodSpec) as exc:
            raise ClusterError(f"pod {plan.pod_name} refused: {exc}", fatal=True) from None
        spec = plan.pod["spec"]
        pinned = spec.get("nodeName") or spec.get("nodeSelector", {}).get(self._node_id_label, "")
        return SimulatedPod(
            plan=plan,
            scenario=scenario,
            requests=requests,
            pinned=pinned,
            tolerations=spec.get("tolerations", []),
            deadline=active_deadline(plan.pod),
        )

    async def delete_pod(
        self, namespace: str, name: str, *, run_id: str, grace: float | None, force: bool = False
    ) -> bool:
        key = (namespace, name)
        view = self._store.get(namespace, name)
        pod = self._pods.get(key)
        if view is None or pod is None or view.run_id != run_id:
            return True
        now = self._clock.now()
        if force or not grace or view.terminal or not pod.node:
            self._remove(key)
            return True
        if view.deleting_since is None:
            self._store.put(dataclasses.replace(view, deleting_since=now))
            delay = (
                grace
                if pod.scenario.ignore_sigterm
                else min(grace, self._settings.startup_delay.total_seconds())
            )
            self._schedule(now + delay, "remove", key)
        return False

    def watch_pods(self) -> AsyncIterator[WatchItem]:
        self._ensure_driver()
        return self._store.watch()

    async def list_nodes(self) -> list[NodeView]:
        return [node.view for node in self._nodes.values()]

    async def pod_events(self, pods: Sequence[PodKey]) -> dict[PodKey, list[PodEvent]]:
        found = {}
        for key in pods:
            pod = self._pods.get(key)
            if pod is not None and pod.events:
                found[key] = list(pod.events)
        return found

    async def pod_usage(self) -> list[PodUsage]:
        """A simulated pod uses what it asked for (:func:`~armada.executor.usage.as_requested`),
        or what its ``armadaproject.io/fake-usage`` annotation says."""
        views = (
            (self._store.get(*key), {**pod.requests, **pod.scenario.usage})
            for key, pod in self._pods.items()
        )
        return as_requested([(v, r) for v, r in views if v is not None], self._clock.now())

    async def list_run_resources(self) -> list[RunResource]:
        return list(self._resources.values())

    async def delete_resource(self, resource: RunResource) -> None:
        self._resources.pop((resource.kind, resource.namespace, resource.name), None)

    async def read_log(
        self,
        namespace: str,
        name: str,
        *,
        container: str = "",
        since_time: str = "",
        tail_lines: int | None = None,
    ) -> list[PodLogLine]:
        pod = self._pods.get((namespace, name))
        if pod is None:
            raise PodNotFound(f'pods "{name}" not found')
        if container and container not in pod.logs:
            raise ClusterError(f"container {container} is not valid for pod {name}")
        lines = pod.logs.get(container or next(iter(pod.logs), ""), [])
        return filter_lines(lines, since_time, tail_lines)

    async def close(self) -> None:
        if self._driver is not None:
            self._driver.cancel()
            await asyncio.gather(self._driver, return_exceptions=True)
            self._driver = None

    # --- simulation -----------------------------------------------------------------------------

    def step(self) -> int:
        """Carry out every transition due by now; returns how many happened."""
        now = self._clock.now()
        done = 0
        for key in list(self._unbound):
            self._try_bind(key, now)
        while self._timers and self._timers[0][0] <= now:
            due, _, action, key, generation = heapq.heappop(self._timers)
            pod = self._pods.get(key)
            if pod is None or pod.generation != generation:
                continue
            done += 1
            if action == "start":
                self._start(key, pod, due)
            elif action == "finish":
                self._finish(key, pod, due)
            elif action == "deadline":
                self._fail(key, pod, due, "DeadlineExceeded", DEADLINE_MESSAGE)
            elif action == "remove":
                self._remove(key)
        return done

    def next_due(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def pod_count(self) -> int:
        return len(self._store)

    def _schedule(self, due: float, action: str, key: PodKey) -> None:
        pod = self._pods[key]
        heapq.heappush(self._timers, (due, next(self._seq), action, key, pod.generation))
        if self._wake is not None:
            self._wake.set()

    def _ensure_driver(self) -> None:
        if self._auto and self._driver is None:
            self._wake = asyncio.Event()
            self._driver = asyncio.get_running_loop().create_task(self._drive())

    async def _drive(self) -> None:
        assert self._wake is not None
        while True:
            self.step()
            due = self.next_due()
            wait = 1.0 if due is None else max(0.0, min(1.0, due - self._clock.now()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait if wait > 0 else 0.001)

    def _try_bind(self, key: PodKey, now: float) -> None:
        pod = self._pods[key]
        view = self._store.get(*key)
        assert view is not None
        refused = pod.scenario.failure == "unschedulable"
        node = (
            None if refused else choose_node(self._nodes, pod.requests, pod.pinned, pod.tolerations)
        )
        if node is None:
            if key not in self._unbound:
                self._unbound.add(key)
                why = why_unschedulable(self._nodes, pod.pinned, refused)
                pod.events.append(pod_event(key, "Warning", "FailedScheduling", why, now))
            return
        self._unbound.discard(key)
        node.take(pod.requests, +1)
        pod.node = node.view.name
        pod.events.append(
            pod_event(
                key,
                "Normal",
                "Scheduled",
                f"Successfully assigned {key[0]}/{key[1]} to {pod.node}",
                now,
            )
        )
        self._store.put(
            dataclasses.replace(view, node=pod.node, resource_version=self._store.next_version())
        )
        self._schedule(now + self._settings.startup_delay.total_seconds(), "start", key)

    def _start(self, key: PodKey, pod: SimulatedPod, now: float) -> None:
        view = self._store.get(*key)
        assert view is not None
        if view.deleting_since is not None:
            return
        failure = pod.scenario.failure
        if failure in ("image-pull", "invalid-image", "stuck-pending"):
            self._stay_pending(key, pod, view, now)
            return
        pod.start(now)
        pod.events.append(pod_event(key, "Normal", "Started", "Started container", now))
        running = tuple(
            ContainerView(name=n, state="running", started_at=now) for n in pod.scenario.runtimes
        )
        self._store.put(
            dataclasses.replace(
                view,
                phase="Running",
                containers=running,
                started=now,
                pod_ip=self._pod_ip(),
                resource_version=self._store.next_version(),
            )
        )
        runtime = pod.scenario.runtime
        if pod.deadline is not None and pod.deadline < runtime:
            self._schedule(now + pod.deadline, "deadline", key)
        else:
            self._schedule(now + runtime, "finish", key)

    def _stay_pending(self, key: PodKey, pod: SimulatedPod, view: PodView, now: float) -> None:
        waiting = pod.waiting(key, now)
        self._store.put(
            dataclasses.replace(
                view, containers=waiting, resource_version=self._store.next_version()
            )
        )

    def _finish(self, key: PodKey, pod: SimulatedPod, now: float) -> None:
        self._end(key, pod, pod.ended(now))

    def _fail(self, key: PodKey, pod: SimulatedPod, now: float, reason: str, message: str) -> None:
        self._end(key, pod, pod.failed(now, reason, message))

    def _end(self, key: PodKey, pod: SimulatedPod, ending: Ending) -> None:
        phase, statuses, reason, message = ending
        view = self._store.get(*key)
        assert view is not None
        pod.generation += 1
        self._release(pod)
        self._store.put(
            dataclasses.replace(
                view,
                phase=phase,
                containers=statuses,
                reason=reason,
                message=message,
                resource_version=self._store.next_version(),
            )
        )

    def _remove(self, key: PodKey) -> None:
        pod = self._pods.pop(key, None)
        if pod is not None:
            self._release(pod)
            pod.generation += 1
        self._unbound.discard(key)
        self._store.remove(*key)

    def _release(self, pod: SimulatedPod) -> None:
        if pod.node:
            self._nodes[pod.node].take(pod.requests, -1)
            pod.node = ""

    def _pod_ip(self) -> str:
        number = next(self._ips)
        return f"10.{number >> 16 & 0xFF}.{number >> 8 & 0xFF}.{number & 0xFF}"

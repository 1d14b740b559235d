"""The process backend: each pod's containers run as processes on this machine.

For a single machine without Kubernetes: the cluster is one node (this host, with the
resources the settings give it), and a container is its command and args run directly (the
image is ignored, so a container must name its command). Each process gets the container's
environment (Armada's variables included) plus a few variables inherited from the executor,
runs in its own process group, and writes stdout and stderr to one log file per container.
The backend enforces ``activeDeadlineSeconds``; deleting a pod sends SIGTERM to its processes
and SIGKILL after the grace period. Per pod it costs one task and one ``exec`` per container,
so thousands of short jobs go through quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import socket
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from armada.config.executor import ProcessClusterSettings
from armada.domain.clock import Clock, SystemClock
from armada.executor.children import Child, spawn
from armada.executor.cluster import ClusterError, PodKey, PodNotFound, WatchItem
from armada.executor.logtext import filter_lines
from armada.executor.machine import node_resources
from armada.executor.model import (
    ContainerView,
    LogLine,
    NodeView,
    PodEvent,
    PodPlan,
    PodView,
    RunResource,
)
from armada.executor.podspec import active_deadline, command_line, containers, init_containers
from armada.executor.podstore import PodStore
from armada.executor.usage import PodUsage, sample_process_groups

_DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"


@dataclass(slots=True)
class _Pod:
    plan: PodPlan
    logs: dict[str, Path]
    processes: list[Child] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    deleting: bool = False
    killer: asyncio.TimerHandle | None = None


def _exit_code(returncode: int | None) -> int:
    if returncode is None:
        return -1
    return 128 - returncode if returncode < 0 else returncode


class ProcessCluster:
    """Runs pods as local processes; implements :class:`~armada.executor.cluster.Cluster`."""

    def __init__(
        self,
        settings: ProcessClusterSettings,
        *,
        name: str = "local",
        node_id_label: str = "kubernetes.io/hostname",
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self._settings = settings
        self._clock = clock or SystemClock()
        self.node_name = settings.node_name or socket.gethostname()
        self.log_dir = Path(settings.log_dir or tempfile.mkdtemp(prefix="armada-process-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._node = NodeView(
            name=self.node_name,
            labels={node_id_label: self.node_name},
            allocatable=node_resources(settings.resources, self.log_dir),
        )
        self._node_id_label = node_id_label
        self._work_dir = settings.work_dir or str(self.log_dir)
        self._base_env = {k: os.environ[k] for k in settings.inherit_env if k in os.environ}
        limit = settings.max_concurrent_pods or 4 * (os.cpu_count() or 1)
        self._slots = asyncio.Semaphore(limit)
        self._store = PodStore()
        self._pods: dict[PodKey, _Pod] = {}
        self._events: dict[PodKey, list[PodEvent]] = {}

    # --- Cluster ------------------------------------------------------------------------------

    async def create_run(self, plan: PodPlan) -> None:
        key = (plan.namespace, plan.pod_name)
        existing = self._store.get(*key)
        if existing is not None:
            if existing.run_id == plan.run_id:
                return
            raise ClusterError(f'pods "{plan.pod_name}" already exists')
        for container in [*init_containers(plan.pod), *containers(plan.pod)]:
            if not command_line(container):
                raise ClusterError(
                    f"container {container.get('name', '?')} names no command: the process "
                    "backend runs commands, not images",
                    fatal=True,
                )
        names = [c.get("name", "main") for c in containers(plan.pod)]
        stem = f"{plan.pod_name}_{plan.run_id}"
        pod = _Pod(plan, {n: self.log_dir / f"{stem}_{n}.log" for n in names})
        self._pods[key] = pod
        spec = plan.pod["spec"]
        pinned = spec.get("nodeName") or spec.get("nodeSelector", {}).get(self._node_id_label)
        bound = not pinned or pinned == self.node_name
        now = self._clock.now()
        self._store.put(
            PodView(
                name=plan.pod_name,
                namespace=plan.namespace,
                labels=plan.pod["metadata"]["labels"],
                annotations=plan.pod["metadata"]["annotations"],
                node=self.node_name if bound else "",
                containers=tuple(ContainerView(name=n, reason="ContainerCreating") for n in names),
                created=now,
                active_deadline=active_deadline(plan.pod),
            )
        )
        if not bound:
            message = (
                f"0/1 nodes are available: 1 node(s) didn't match Pod's node selector ({pinned})."
            )
            self._events[key] = [
                PodEvent(
                    namespace=plan.namespace,
                    pod_name=plan.pod_name,
                    type="Warning",
                    reason="FailedScheduling",
                    message=message,
                    first_seen=now,
                    last_seen=now,
                )
            ]
            return
        pod.task = asyncio.get_running_loop().create_task(self._run(key, pod))

    async def delete_pod(
        self, namespace: str, name: str, *, run_id: str, grace: float | None, force: bool = False
    ) -> bool:
        key = (namespace, name)
        pod = self._pods.get(key)
        view = self._store.get(namespace, name)
        if pod is None or view is None or view.run_id != run_id:
            return True
        if view.terminal or not pod.processes:
            # Not running (yet): it goes at once; a process just starting is killed by _run.
            pod.deleting = True
            self._remove(key, pod)
            return True
        pod.deleting = True
        if view.deleting_since is None:
            self._store.put(dataclasses.replace(view, deleting_since=self._clock.now()))
        if force or not grace:
            self._signal(pod, signal.SIGKILL)
        else:
            self._signal(pod, signal.SIGTERM)
            loop = asyncio.get_running_loop()
            pod.killer = loop.call_later(grace, self._signal, pod, signal.SIGKILL)
        return False

    def watch_pods(self) -> AsyncIterator[WatchItem]:
        return self._store.watch()

    async def list_nodes(self) -> list[NodeView]:
        return [self._node]

    async def pod_events(self, pods: Sequence[PodKey]) -> dict[PodKey, list[PodEvent]]:
        return {key: list(self._events[key]) for key in pods if key in self._events}

    async def pod_usage(self) -> list[PodUsage]:
        """What each running pod's process groups use now (:mod:`armada.executor.usage`)."""
        running = [
            (view, [process.pid for process in pod.processes])
            for key, pod in self._pods.items()
            if pod.processes and (view := self._store.get(*key)) and view.phase == "Running"
        ]
        return await sample_process_groups(running, self._clock.now())

    async def list_run_resources(self) -> list[RunResource]:
        return []

    async def delete_resource(self, resource: RunResource) -> None:
        return None

    async def read_log(
        self,
        namespace: str,
        name: str,
        *,
        container: str = "",
        since_time: str = "",
        tail_lines: int | None = None,
    ) -> list[LogLine]:
        pod = self._pods.get((namespace, name))
        if pod is None:
            raise PodNotFound(f'pods "{name}" not found')
        path = pod.logs.get(container or next(iter(pod.logs)))
        if path is None:
            raise ClusterError(f"container {container} is not valid for pod {name}")
        try:
            text = await asyncio.to_thread(path.read_text, errors="replace")
        except FileNotFoundError:
            text = ""
        lines = [LogLine("", line) for line in text.splitlines()]
        return filter_lines(lines, "", tail_lines)

    async def close(self) -> None:
        for key, pod in list(self._pods.items()):
            self._signal(pod, signal.SIGKILL)
            if pod.task is not None:
                pod.task.cancel()
            self._pods.pop(key, None)

    def log_path(self, namespace: str, name: str, container: str = "") -> Path:
        pod = self._pods[(namespace, name)]
        return pod.logs[container or next(iter(pod.logs))]

    # --- running pods -------------------------------------------------------------------------

    async def _run(self, key: PodKey, pod: _Pod) -> None:
        try:
            await self._run_pod(key, pod)
        finally:
            if pod.deleting and self._pods.get(key) is not pod:
                self._delete_logs(pod)  # deleted while starting: output written since goes too

    async def _run_pod(self, key: PodKey, pod: _Pod) -> None:
        async with self._slots:
            if pod.deleting or key not in self._pods:
                return
            failed = await self._run_init_containers(pod)
            if failed is not None:
                self._finish(key, pod, "Failed", (failed,))
                return
            if pod.deleting:
                return
            specs = containers(pod.plan.pod)
            started = self._clock.now()
            statuses = await asyncio.gather(*(self._start(pod, c) for c in specs))
            if pod.deleting:
                self._signal(pod, signal.SIGKILL)
            elif pod.processes:
                self._update(key, pod, phase="Running", started=started, containers=tuple(statuses))
            deadline = active_deadline(pod.plan.pod)
            timed_out = await self._wait(pod, deadline)
            final = tuple(
                self._terminated(status, proc)
                for status, proc in zip(statuses, self._aligned(pod, statuses), strict=True)
            )
        if pod.deleting:
            self._remove(key, pod)
        elif timed_out:
            self._finish(
                key, pod, "Failed", final, reason="DeadlineExceeded", message=_DEADLINE_MESSAGE
            )
        else:
            ok = all(c.exit_code == 0 for c in final)
            self._finish(key, pod, "Succeeded" if ok else "Failed", final)

    async def _run_init_containers(self, pod: _Pod) -> ContainerView | None:
        for spec in init_containers(pod.plan.pod):
            status = await self._start(pod, spec)
            process = pod.processes.pop() if status.state == "running" else None
            if process is not None:
                await process.wait()
            status = self._terminated(status, process)
            if status.exit_code != 0:
                return status
        return None

    def _aligned(self, pod: _Pod, statuses: Sequence[ContainerView]) -> list[Child | None]:
        running = iter(pod.processes)
        return [next(running) if s.state == "running" else None for s in statuses]

    async def _start(self, pod: _Pod, spec: dict[str, Any]) -> ContainerView:
        name = spec.get("name", "main")
        path = pod.logs.get(name) or self._log_file(pod, name)
        now = self._clock.now()
        try:
            process = spawn(
                command_line(spec),
                env={**self._base_env, **self._env(pod, spec)},
                cwd=spec.get("workingDir") or self._work_dir,
                output=path,
            )
        except OSError as exc:
            return ContainerView(
                name=name,
                state="terminated",
                reason="StartError",
                message=str(exc),
                exit_code=127 if isinstance(exc, FileNotFoundError) else 128,
                finished_at=now,
            )
        pod.processes.append(process)
        return ContainerView(name=name, state="running", started_at=now)

    def _env(self, pod: _Pod, spec: dict[str, Any]) -> dict[str, str]:
        fields = {
            "metadata.name": pod.plan.pod_name,
            "metadata.namespace": pod.plan.namespace,
            "spec.nodeName": self.node_name,
            "status.podIP": "127.0.0.1",
        }
        env = {}
        for item in spec.get("env", []):
            if "value" in item:
                env[item["name"]] = str(item["value"])
            elif "valueFrom" in item:
                path = item["valueFrom"].get("fieldRef", {}).get("fieldPath", "")
                if path in fields:
                    env[item["name"]] = fields[path]
        return env

    async def _wait(self, pod: _Pod, deadline: float | None) -> bool:
        """Wait for every process; True if the deadline passed first (they are then killed)."""
        waits = [asyncio.ensure_future(p.wait()) for p in pod.processes]
        if not waits:
            return False
        _, pending = await asyncio.wait(waits, timeout=deadline)
        if not pending:
            return False
        self._signal(pod, signal.SIGKILL)
        await asyncio.gather(*pending)
        return True

    def _terminated(self, status: ContainerView, process: Child | None) -> ContainerView:
        if process is None:
            return status
        code = _exit_code(process.returncode)
        return dataclasses.replace(
            status,
            state="terminated",
            reason="Completed" if code == 0 else "Error",
            exit_code=code,
            finished_at=self._clock.now(),
        )

    def _signal(self, pod: _Pod, sig: signal.Signals) -> None:
        for process in pod.processes:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, sig)

    def _update(self, key: PodKey, pod: _Pod, **changes: Any) -> None:
        view = self._store.get(*key)
        if view is not None and self._pods.get(key) is pod:
            self._store.put(dataclasses.replace(view, **changes))

    def _finish(
        self,
        key: PodKey,
        pod: _Pod,
        phase: str,
        statuses: tuple[ContainerView, ...],
        *,
        reason: str = "",
        message: str = "",
    ) -> None:
        pod.processes.clear()
        if pod.killer is not None:
            pod.killer.cancel()
        self._update(key, pod, phase=phase, containers=statuses, reason=reason, message=message)

    def _remove(self, key: PodKey, pod: _Pod) -> None:
        if pod.killer is not None:
            pod.killer.cancel()
        if self._pods.get(key) is pod:
            del self._pods[key]
            self._events.pop(key, None)
            self._store.remove(*key)
            self._delete_logs(pod)

    def _log_file(self, pod: _Pod, container: str) -> Path:
        return self.log_dir / f"{pod.plan.pod_name}_{pod.plan.run_id}_{container}.log"

    def _delete_logs(self, pod: _Pod) -> None:
        """A pod's output goes with it, as the kubelet's does: otherwise ``logDir`` would keep a
        file per container of every run ever (nothing can read them once the pod is gone)."""
        names = [c.get("name", "main") for c in init_containers(pod.plan.pod)]
        for path in [*pod.logs.values(), *(self._log_file(pod, n) for n in names)]:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

"""The process backend: each pod's containers run as processes on this machine.

For a single machine without Kubernetes: one node (this host, with the resources the settings
give it); a container is its command and args (the image is ignored), with its environment plus
a few variables of the executor's, in a process group of its own, under a wrapper
(:mod:`.proclaunch`) that sends its output to a file, records the exit status and applies the
memory and CPU limits (:mod:`.proclimits`); each line of output is stamped with the time it was
written (:mod:`.procstamps`). Pods go in the configured ``namespaces`` only. The backend
enforces ``activeDeadlineSeconds``; deleting a pod sends SIGTERM (again to a command that
missed it by starting just then), then SIGKILL after the grace period. What it started is kept
in ``logDir``: a restarted executor takes back the pods whose processes still run or recorded
how they ended, and drops those that vanished (the scheduler sees those runs lost and tries the
jobs again): no run is ever started twice.
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
from pathlib import Path
from typing import Any

from armada.config.executor import ProcessClusterSettings
from armada.domain.clock import Clock, SystemClock
from armada.executor.cluster import ClusterError, PodKey, PodNotFound, WatchItem
from armada.executor.logtext import filter_lines
from armada.executor.machine import node_resources
from armada.executor.model import (
    ContainerView,
    NodeView,
    PodEvent,
    PodLogLine,
    PodPlan,
    PodView,
    RunResource,
)
from armada.executor.podspec import active_deadline, command_line, containers, init_containers
from armada.executor.podstore import PodStore
from armada.executor.proccontainers import ContainerProcess, ContainerProcesses, LocalPod
from armada.executor.proclaunch import (
    ContainerFiles,
    PodLayout,
    find_containers,
    load_plan,
    missing_tools,
)
from armada.executor.proclimits import Confinement, scope_name
from armada.executor.procstamps import stamped_lines
from armada.executor.usage import PodUsage, sample_process_groups

_DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"
# Seconds after a pod's SIGTERM when its containers are checked for a command that missed it
# (forked just as it came: see proclaunch.resend_missed) and, if so, sent it again.
MISSED_SIGNAL_CHECKS = (0.2, 1.0, 5.0)


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
        lacking = missing_tools()
        if lacking:
            raise ClusterError(f"the process backend needs {', '.join(lacking)} on PATH")
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
        self._namespaces = frozenset(settings.namespaces)
        self._limits = Confinement(settings.resource_limits, scope_name(name, self.log_dir))
        self.limits_enforced_by = self._limits.kind  # cgroup2, cgroup1, rlimit or off
        limit = settings.max_concurrent_pods or 4 * (os.cpu_count() or 1)
        self._slots = asyncio.Semaphore(limit)
        self._store = PodStore()
        self._pods: dict[PodKey, LocalPod] = {}
        self._events: dict[PodKey, list[PodEvent]] = {}
        self._recovered = False
        self._layout = PodLayout(self.log_dir)
        self._containers = ContainerProcesses(
            layout=self._layout,
            limits=self._limits,
            clock=self._clock,
            base_env={k: os.environ[k] for k in settings.inherit_env if k in os.environ},
            node_name=self.node_name,
            work_dir=settings.work_dir or str(self.log_dir),
        )
        self._stamper: asyncio.Task[None] | None = None

    # --- Cluster ------------------------------------------------------------------------------

    async def create_run(self, plan: PodPlan) -> None:
        self._recover()
        self._start_stamping()
        key = (plan.namespace, plan.pod_name)
        existing = self._store.get(*key)
        if existing is not None:
            if existing.run_id == plan.run_id:
                return
            raise ClusterError(f'pods "{plan.pod_name}" already exists')
        if plan.namespace not in self._namespaces:
            raise ClusterError(f'namespaces "{plan.namespace}" not found', fatal=True)
        for container in [*init_containers(plan.pod), *containers(plan.pod)]:
            if not command_line(container):
                raise ClusterError(
                    f"container {container.get('name', '?')} names no command: the process "
                    "backend runs commands, not images",
                    fatal=True,
                )
        pod = LocalPod(plan)
        spec = plan.pod["spec"]
        pinned = spec.get("nodeName") or spec.get("nodeSelector", {}).get(self._node_id_label)
        bound = not pinned or pinned == self.node_name
        now = self._clock.now()
        self._pods[key] = pod
        self._store.put(self._view(plan, now, bound))
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

    def _view(self, plan: PodPlan, created: float, bound: bool = True) -> PodView:
        return PodView(
            name=plan.pod_name,
            namespace=plan.namespace,
            labels=plan.pod["metadata"]["labels"],
            annotations=plan.pod["metadata"]["annotations"],
            node=self.node_name if bound else "",
            containers=tuple(
                ContainerView(name=n, reason="ContainerCreating") for n in self._layout.names(plan)
            ),
            created=created,
            active_deadline=active_deadline(plan.pod),
        )

    async def delete_pod(
        self, namespace: str, name: str, *, run_id: str, grace: float | None, force: bool = False
    ) -> bool:
        self._recover()
        key = (namespace, name)
        pod = self._pods.get(key)
        if pod is not None and pod.starting is not None:
            await asyncio.shield(pod.starting)  # a start under way lands first: then we know
            pod = self._pods.get(key)  # whether there are processes to stop gracefully
        view = self._store.get(namespace, name)
        if pod is None or view is None or view.run_id != run_id:
            return True
        if view.terminal or not pod.processes:
            # Not running (yet): it goes at once; a process just starting is killed by _run.
            pod.deleting = True
            await self._remove(key, pod)
            return True
        pod.deleting = True
        if view.deleting_since is None:
            self._store.put(dataclasses.replace(view, deleting_since=self._clock.now()))
        if force or not grace:
            self._containers.signal(pod, signal.SIGKILL)
        else:
            self._containers.signal(pod, signal.SIGTERM)
            loop = asyncio.get_running_loop()
            for after in MISSED_SIGNAL_CHECKS:  # a command starting just then may miss it
                if after < grace:
                    loop.call_later(after, self._containers.resend_missed, pod, signal.SIGTERM)
            pod.killer = loop.call_later(grace, self._containers.signal, pod, signal.SIGKILL)
        return False

    def watch_pods(self) -> AsyncIterator[WatchItem]:
        self._recover()
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
    ) -> list[PodLogLine]:
        self._recover()
        pod = self._pods.get((namespace, name))
        if pod is None:
            raise PodNotFound(f'pods "{name}" not found')
        names = self._layout.names(pod.plan)
        if container and container not in names:
            raise ClusterError(f"container {container} is not valid for pod {name}")
        files = self._layout.files(pod.plan, container or names[0])
        lines = await asyncio.to_thread(self._read_stamped, files)
        return filter_lines(lines, since_time, tail_lines)

    def _read_stamped(self, files: ContainerFiles) -> list[PodLogLine]:
        now = self._clock.now()
        self._containers.stamps.note([(files.log, files.stamps)], now)
        return stamped_lines(files.log, files.stamps, now)

    async def close(self) -> None:
        """Kill every pod's processes and forget the pods (an executor that dies instead leaves
        them running, for the next one on ``logDir`` to take back)."""
        pods = list(self._pods.values())
        tasks = [pod.task for pod in pods if pod.task is not None]
        if self._stamper is not None:
            tasks.append(self._stamper)
            self._stamper = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for pod in pods:
            self._containers.signal(pod, signal.SIGKILL)
        children = [p.child for pod in pods for p in pod.processes]
        ours = [child.wait() for child in children if child is not None]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*ours), timeout=5)
        for pod in pods:
            self._release_cgroups(pod)
        self._pods.clear()
        self._limits.close()

    def log_path(self, namespace: str, name: str, container: str = "") -> Path:
        pod = self._pods[(namespace, name)]
        return self._layout.files(pod.plan, container or self._layout.names(pod.plan)[0]).log

    # --- running pods -------------------------------------------------------------------------

    async def _run(self, key: PodKey, pod: LocalPod) -> None:
        try:
            await self._run_pod(key, pod)
        finally:
            if pod.deleting and self._pods.get(key) is not pod:
                await self._delete_files(pod)  # deleted while starting: output since goes too

    async def _run_pod(self, key: PodKey, pod: LocalPod) -> None:
        async with self._slots:
            if pod.deleting or key not in self._pods:
                return
            failed = await self._run_init_containers(pod)
            if failed is not None:
                self._finish(key, pod, "Failed", (failed,))
                return
            if pod.deleting:
                return
            started = self._clock.now()
            statuses = await self._containers.start(pod, containers(pod.plan.pod))
            if pod.deleting:
                self._containers.signal(pod, signal.SIGKILL)
            elif pod.processes:
                self._update(key, pod, phase="Running", started=started, containers=tuple(statuses))
            await self._await_main(key, pod, statuses, active_deadline(pod.plan.pod))

    async def _await_main(
        self, key: PodKey, pod: LocalPod, statuses: Sequence[ContainerView], deadline: float | None
    ) -> None:
        """Wait for the main containers (``deadline`` seconds at most), then end the pod."""
        timed_out = await self._containers.wait(pod, deadline)
        final = tuple(
            self._containers.terminated(pod.plan, status, proc)
            for status, proc in zip(statuses, self._containers.aligned(pod, statuses), strict=True)
        )
        if pod.deleting:
            await self._remove(key, pod)
        elif timed_out:
            self._finish(
                key, pod, "Failed", final, reason="DeadlineExceeded", message=_DEADLINE_MESSAGE
            )
        else:
            ok = all(c.exit_code == 0 for c in final)
            self._finish(key, pod, "Succeeded" if ok else "Failed", final)

    async def _run_init_containers(self, pod: LocalPod) -> ContainerView | None:
        for spec in init_containers(pod.plan.pod):
            (status,) = await self._containers.start(pod, [spec])
            process = pod.processes[-1] if status.state == "running" else None
            if process is not None:
                await self._containers.wait_one(process)
                pod.processes.remove(process)
            status = self._containers.terminated(pod.plan, status, process)
            if status.exit_code != 0:
                return status
        return None

    def _start_stamping(self) -> None:
        if self._stamper is None:
            stamping = self._containers.stamp_running(self._pods)
            self._stamper = asyncio.get_running_loop().create_task(stamping)

    def _update(self, key: PodKey, pod: LocalPod, **changes: Any) -> None:
        view = self._store.get(*key)
        if view is not None and self._pods.get(key) is pod:
            self._store.put(dataclasses.replace(view, **changes))

    def _finish(
        self,
        key: PodKey,
        pod: LocalPod,
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

    async def _remove(self, key: PodKey, pod: LocalPod) -> None:
        if pod.killer is not None:
            pod.killer.cancel()
        if self._pods.get(key) is pod:
            del self._pods[key]
            self._events.pop(key, None)
            self._store.remove(*key)
            await self._delete_files(pod)

    async def _delete_files(self, pod: LocalPod) -> None:
        """A pod's output goes with it, as the kubelet's does (``logDir`` would otherwise keep
        every run's), and so do its record and its cgroups: off the loop (removing a cgroup
        takes the kernel a while), done when this returns."""
        await asyncio.to_thread(self._delete_files_now, pod)

    def _delete_files_now(self, pod: LocalPod) -> None:
        for path in self._layout.all_files(pod.plan):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            self._containers.stamps.forget(path)
        self._release_cgroups(pod)

    def _release_cgroups(self, pod: LocalPod) -> None:
        for name in self._layout.all_names(pod.plan):
            self._limits.release(self._layout.cgroup(pod.plan, name))

    # --- after a restart ----------------------------------------------------------------------

    def _recover(self) -> None:
        """Take back what an earlier executor on this ``logDir`` started (once, on first use)."""
        if self._recovered:
            return
        self._recovered = True
        self._start_stamping()
        for path in sorted(self.log_dir.glob("*.pod.json")):
            loaded = load_plan(path)
            if loaded is None:
                path.unlink(missing_ok=True)
                continue
            plan, created = loaded
            self._take_back(plan, created)

    def _take_back(self, plan: PodPlan, created: float) -> None:
        pod = LocalPod(plan, recorded=True)
        found = find_containers(plan, self._layout, created)
        if found is None:  # lost: the scheduler will see its run missing
            self._delete_files_now(pod)
            return
        statuses = []
        for c in found:
            done = c.code is not None
            proc = ContainerProcess(c.name, c.files, c.pid, c.start_ticks, None, c.code, done)
            status = ContainerView(name=c.name, state="running", started_at=c.started)
            if done:
                status = self._containers.terminated(plan, status, proc)
            else:
                pod.processes.append(proc)
            statuses.append(status)
        key = (plan.namespace, plan.pod_name)
        self._pods[key] = pod
        begun = min(c.started for c in found)
        view = dataclasses.replace(
            self._view(plan, created), phase="Running", started=begun, containers=tuple(statuses)
        )
        if not pod.processes:
            ok = all(c.exit_code == 0 for c in statuses)
            self._store.put(dataclasses.replace(view, phase="Succeeded" if ok else "Failed"))
            return
        self._store.put(view)
        deadline = active_deadline(plan.pod)
        left = None if deadline is None else max(0.0, deadline - (self._clock.now() - begun))
        pod.task = asyncio.get_running_loop().create_task(self._resume(key, pod, statuses, left))

    async def _resume(
        self, key: PodKey, pod: LocalPod, statuses: list[ContainerView], deadline: float | None
    ) -> None:
        """Follow a pod taken back after a restart until it ends."""
        async with self._slots:
            await self._await_main(key, pod, statuses, deadline)

"""A process-backend pod's containers: starting them, waiting for them, how they ended.

:class:`ContainerProcesses` starts a pod's containers under the wrapper of :mod:`.proclaunch`,
off the event loop (a thread makes their cgroups, writes the pod's record and starts the
processes: each costs milliseconds of system time that would otherwise stall the loop), waits
for them, signals them, notes how far their output has grown (:mod:`.procstamps`) and turns
how each ended into the container status the kubelet would report. The pod's life around that
(the store, deletion, deadlines, taking pods back after a restart) is :mod:`.process`'s.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from armada.domain.clock import Clock
from armada.executor.children import Child
from armada.executor.model import ContainerView, PodPlan
from armada.executor.podspec import command_line
from armada.executor.proclaunch import (
    ContainerFiles,
    PodLayout,
    container_env,
    ended,
    kill_group,
    launch,
    output_tail,
    resend_missed,
    save_plan,
)
from armada.executor.proclimits import Confinement, Limits, container_limits
from armada.executor.procstamps import STAMP_INTERVAL, OutputStamps

log = logging.getLogger(__name__)

OOM_EXIT_CODE = 137


@dataclass(slots=True)
class ContainerProcess:
    """A started container: the wrapper's pid (its process group), files, and child (None for
    a process taken back after a restart: not ours)."""

    name: str
    files: ContainerFiles
    pid: int
    start_ticks: int | None
    child: Child | None
    code: int | None = None
    done: bool = False


@dataclass(slots=True)
class LocalPod:
    """A pod this backend runs: its plan, its started containers and what is under way."""

    plan: PodPlan
    processes: list[ContainerProcess] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    deleting: bool = False
    killer: asyncio.TimerHandle | None = None
    recorded: bool = False  # its record (the plan) is written in logDir
    starting: asyncio.Future[None] | None = None  # done once the containers being started are known


@dataclass(frozen=True, slots=True)
class _Launch:
    """What the thread needs to start one container."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    files: ContainerFiles
    cgroup: str
    limits: Limits


class ContainerProcesses:
    """Starts, waits for, signals and reports on pods' containers (see the module's doc)."""

    def __init__(
        self,
        *,
        layout: PodLayout,
        limits: Confinement,
        clock: Clock,
        base_env: dict[str, str],
        node_name: str,
        work_dir: str,
    ) -> None:
        self._layout = layout
        self._limits = limits
        self._clock = clock
        self._base_env = base_env
        self._node_name = node_name
        self._work_dir = work_dir
        self.stamps = OutputStamps()

    async def start(self, pod: LocalPod, specs: Sequence[dict[str, Any]]) -> list[ContainerView]:
        """Start ``specs``' containers (recording the pod's plan first, if not yet done); a
        container that cannot start is reported terminated (StartError), as the kubelet does."""
        launches = [self._launch_of(pod.plan, spec) for spec in specs]
        record = None if pod.recorded else (self._layout.record(pod.plan), pod.plan)
        now = self._clock.now()
        loop = asyncio.get_running_loop()
        pod.starting = loop.create_future()
        try:
            return await self._started(pod, launches, record, now)
        finally:
            pod.starting.set_result(None)
            pod.starting = None

    async def _started(
        self,
        pod: LocalPod,
        launches: list[_Launch],
        record: tuple[Path, PodPlan] | None,
        now: float,
    ) -> list[ContainerView]:
        started = asyncio.get_running_loop().run_in_executor(
            None, self._start_in_thread, launches, record, now
        )
        try:
            outcomes = await asyncio.shield(started)
        except asyncio.CancelledError:  # what the thread starts is killed: it has no owner
            started.add_done_callback(_kill_orphans)
            raise
        pod.recorded = True
        statuses = []
        for launched, outcome in zip(launches, outcomes, strict=True):
            if isinstance(outcome, OSError):
                code = 127 if isinstance(outcome, FileNotFoundError) else 128
                statuses.append(
                    ContainerView(
                        name=launched.name,
                        state="terminated",
                        reason="StartError",
                        message=str(outcome),
                        exit_code=code,
                        finished_at=now,
                    )
                )
                continue
            child = Child(outcome)
            pod.processes.append(
                ContainerProcess(launched.name, launched.files, child.pid, None, child)
            )
            statuses.append(ContainerView(name=launched.name, state="running", started_at=now))
        return statuses

    def _launch_of(self, plan: PodPlan, spec: dict[str, Any]) -> _Launch:
        name = spec.get("name", "main")
        return _Launch(
            name=name,
            argv=command_line(spec),
            env={**self._base_env, **container_env(plan, spec, self._node_name)},
            cwd=spec.get("workingDir") or self._work_dir,
            files=self._layout.files(plan, name),
            cgroup=self._layout.cgroup(plan, name),
            limits=container_limits(spec),
        )

    def _start_in_thread(
        self, launches: list[_Launch], record: tuple[Path, PodPlan] | None, now: float
    ) -> list[subprocess.Popen[bytes] | OSError]:
        if record is not None:
            save_plan(*record, now)
        outcomes: list[subprocess.Popen[bytes] | OSError] = []
        for one in launches:
            try:
                confined = self._limits.prepare(one.cgroup, one.limits)
                outcomes.append(
                    launch(one.argv, env=one.env, cwd=one.cwd, files=one.files, confined=confined)
                )
            except OSError as exc:
                outcomes.append(exc)
        return outcomes

    async def wait_one(self, proc: ContainerProcess) -> None:
        """Until the container ends (and with it, its output: see :mod:`.proclaunch`)."""
        proc.code = await ended(proc.files, proc.pid, proc.start_ticks, proc.child)
        proc.done = True
        self.stamps.note([(proc.files.log, proc.files.stamps)], self._clock.now())

    async def wait(self, pod: LocalPod, deadline: float | None) -> bool:
        """Wait for every process; True if the deadline passed first (they are then killed)."""
        waits = [asyncio.ensure_future(self.wait_one(p)) for p in pod.processes]
        if not waits:
            return False
        _, pending = await asyncio.wait(waits, timeout=deadline)
        if not pending:
            return False
        self.signal(pod, signal.SIGKILL)
        await asyncio.gather(*pending)
        return True

    def aligned(
        self, pod: LocalPod, statuses: Sequence[ContainerView]
    ) -> list[ContainerProcess | None]:
        """The process of each status that started running (None for one that did not)."""
        running = iter(pod.processes)
        return [next(running) if s.state == "running" else None for s in statuses]

    def terminated(
        self, plan: PodPlan, status: ContainerView, proc: ContainerProcess | None
    ) -> ContainerView:
        """``status`` once ``proc`` has ended: its exit code and reason (OOMKilled if its
        cgroup or, under an rlimit, its output says it ran out of memory)."""
        if proc is None:
            return status
        cgroup = self._layout.cgroup(plan, proc.name)
        code = OOM_EXIT_CODE if proc.code is None else proc.code
        reason = "Completed" if code == 0 else "Error"
        tail = output_tail(proc.files.log) if self._limits.kind == "rlimit" and code else []
        if code and self._limits.oom_killed(cgroup, code, tail):
            code, reason = OOM_EXIT_CODE, "OOMKilled"
        return dataclasses.replace(
            status,
            state="terminated",
            reason=reason,
            message="" if proc.code is not None else "the process ended leaving no exit status",
            exit_code=code,
            finished_at=self._clock.now(),
        )

    def resend_missed(self, pod: LocalPod, sig: signal.Signals) -> None:
        """:func:`~armada.executor.proclaunch.resend_missed` for each running container."""
        for proc in pod.processes:
            if not proc.done and resend_missed(proc.pid, proc.start_ticks, sig):
                log.info(
                    "%s: %s missed %s as it started: sent again",
                    pod.plan.pod_name,
                    proc.name,
                    sig.name,
                )

    def signal(self, pod: LocalPod, sig: signal.Signals) -> None:
        for proc in pod.processes:
            if not proc.done:
                kill_group(proc.pid, proc.start_ticks, sig)

    async def stamp_running(self, pods: Mapping[Any, LocalPod]) -> None:
        """Note every :data:`STAMP_INTERVAL` how far running containers' output has grown
        (``pods``: the live collection of pods, read at each tick)."""
        while True:
            await asyncio.sleep(STAMP_INTERVAL)
            logs = [
                (proc.files.log, proc.files.stamps)
                for pod in pods.values()
                for proc in pod.processes
                if not proc.done
            ]
            if logs:
                await asyncio.to_thread(self.stamps.note, logs, self._clock.now())


def _kill_orphans(started: asyncio.Future[list[subprocess.Popen[bytes] | OSError]]) -> None:
    if started.cancelled() or started.exception() is not None:
        return
    for outcome in started.result():
        if not isinstance(outcome, OSError):
            kill_group(outcome.pid, None, signal.SIGKILL)

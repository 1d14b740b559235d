"""What running pods use: sampled often, reported seldom (Armada's JobUtilisationEvent).

Every ``utilisationSampleInterval`` the agent asks its backend what each running Armada pod uses
now (a :class:`PodUsage` per pod: memory in use, CPU time so far). :class:`UsageAggregator`
keeps, per run, the most and the sum of the current period's samples, and turns them into one
``JobRunUtilisation`` event per run per ``utilisationReportingInterval``, plus one for the last
period when the run ends: the agent asks for it just before the run's final event, so that it
reaches the scheduler while the job is still active. Events are therefore bounded by the number
of runs and the interval, never by the number of samples.

Backends that can measure implement :class:`UsageSource`. The process backend reads its pods'
process groups from ``/proc`` (:func:`process_group_usage`: resident memory, and CPU time
including that of reaped children); a process that leaves its group (``setsid``) is not
counted. The fake backend reports what a pod asked for (its requests) as its use. The
Kubernetes backend does not measure (that needs the metrics API): its runs report nothing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from armada.domain import events as ev
from armada.executor.model import PodView

_KI = 1024
_MILLI = 1000


@dataclass(frozen=True, slots=True)
class PodUsage:
    """One sample of one running pod."""

    run_id: str
    job_id: str
    pod_name: str
    namespace: str
    node: str
    started: float  # when its containers started (the agent's clock)
    cpu_seconds: float  # CPU time used since then, in core-seconds
    memory: int  # bytes in use now
    at: float | None = None  # when the sample was taken (None: when it is added)


def sample_of(view: PodView, now: float, *, cpu_seconds: float, memory: int) -> PodUsage:
    return PodUsage(
        run_id=view.run_id,
        job_id=view.job_id,
        pod_name=view.name,
        namespace=view.namespace,
        node=view.node,
        started=view.started if view.started is not None else now,
        cpu_seconds=cpu_seconds,
        memory=memory,
        at=now,
    )


@runtime_checkable
class UsageSource(Protocol):
    """A cluster backend that can say what its running Armada pods use."""

    async def pod_usage(self) -> list[PodUsage]: ...


@dataclass(slots=True)
class _Period:
    latest: PodUsage
    since: float  # when the period began
    sampled_at: float  # when the latest sample was taken
    samples: int = 0
    cpu_sum: float = 0.0  # cores
    cpu_max: float = 0.0
    memory_sum: int = 0  # bytes
    memory_max: int = 0

    def record(self, cores: float, memory: int) -> None:
        self.samples += 1
        self.cpu_sum += cores
        self.cpu_max = max(self.cpu_max, cores)
        self.memory_sum += memory
        self.memory_max = max(self.memory_max, memory)


def _cpu(cores: float) -> int:
    return round(cores * _MILLI)  # milli-units of a core: 250 is 250m


def _memory(size: float) -> int:
    return int(size) // _KI * _KI * _MILLI  # whole KiB, in milli-units


class UsageAggregator:
    """Per-run periods of samples, and the events they become (a pure state machine: the
    agent feeds it samples and carries its events to the scheduler)."""

    def __init__(self, *, interval: float, executor: str) -> None:
        self.interval = interval
        self.executor = executor
        self._periods: dict[str, _Period] = {}

    def add(self, samples: Iterable[PodUsage], now: float) -> list[ev.JobRunUtilisation]:
        """Record one round of samples; return the reports now due: runs whose period is
        over, and runs no longer sampled (their pod stopped) with their last period."""
        seen: set[str] = set()
        for sample in samples:
            seen.add(sample.run_id)
            period = self._periods.get(sample.run_id)
            # rates over the samples' own times: the CPU time was read then, not now
            taken = sample.at if sample.at is not None else now
            if period is None:  # the first sample: the average since the pod started,
                used, elapsed = sample.cpu_seconds, taken - sample.started  # its first period
                since = min(now, sample.started)
                period = self._periods[sample.run_id] = _Period(sample, since, taken)
            else:  # since the last sample (a process that left its group can make it < 0)
                used = sample.cpu_seconds - period.latest.cpu_seconds
                elapsed = taken - period.sampled_at
                period.latest, period.sampled_at = sample, taken
            period.record(max(0.0, used) / elapsed if elapsed > 0 else 0.0, sample.memory)
        due = [run_id for run_id in self._periods if run_id not in seen]
        reports = [r for r in map(self.flush, due) if r is not None]
        for run_id, period in self._periods.items():
            if now - period.since >= self.interval:
                reports.append(self._report(period))
                self._periods[run_id] = _Period(period.latest, now, period.sampled_at)
        return reports

    def flush(self, run_id: str) -> ev.JobRunUtilisation | None:
        """The run's last period (it ended), if it has samples; the run is forgotten."""
        period = self._periods.pop(run_id, None)
        return self._report(period) if period is not None and period.samples else None

    def __len__(self) -> int:
        return len(self._periods)

    def _report(self, period: _Period) -> ev.JobRunUtilisation:
        pod, n = period.latest, max(1, period.samples)
        return ev.JobRunUtilisation(
            job_id=pod.job_id,
            run_id=pod.run_id,
            executor=self.executor,
            node=pod.node,
            pod_name=pod.pod_name,
            namespace=pod.namespace,
            max_resources={"cpu": _cpu(period.cpu_max), "memory": _memory(period.memory_max)},
            avg_resources={
                "cpu": _cpu(period.cpu_sum / n),
                "memory": _memory(period.memory_sum / n),
            },
            cumulative={"cpu": _cpu(pod.cpu_seconds)},
        )


def process_group_usage(
    groups: Collection[int], proc: Path = Path("/proc")
) -> dict[int, tuple[float, int]]:
    """Process group id -> (CPU seconds, resident bytes) summed over the group's live
    processes; CPU includes the children they reaped. Blocking file I/O: call it in a thread."""
    ticks = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    usage: dict[int, tuple[float, int]] = {}
    if not groups:
        return usage
    with os.scandir(proc) as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                text = (proc / entry.name / "stat").read_text()
            except OSError:
                continue  # it ended meanwhile
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            fields = text[text.rfind(")") + 2 :].split()
            if len(fields) < 22 or int(fields[2]) not in groups:
                continue
            group = int(fields[2])
            cpu = sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
            memory = int(fields[21]) * page  # rss, in pages
            before = usage.get(group, (0.0, 0))
            usage[group] = (before[0] + cpu, before[1] + memory)
    return usage


async def sample_process_groups(
    pods: Iterable[tuple[PodView, Collection[int]]], now: float
) -> list[PodUsage]:
    """A sample of each running pod from its process groups (``/proc`` read in a thread, off
    the event loop)."""
    pods = list(pods)
    if not pods:
        return []
    groups = {group for _, pod_groups in pods for group in pod_groups}
    usage = await asyncio.to_thread(process_group_usage, groups)
    samples = []
    for view, pod_groups in pods:
        used = [usage.get(group, (0.0, 0)) for group in pod_groups]
        cpu, memory = sum(u[0] for u in used), sum(u[1] for u in used)
        samples.append(sample_of(view, now, cpu_seconds=cpu, memory=memory))
    return samples


def as_requested(pods: Iterable[tuple[PodView, Mapping[str, int]]], now: float) -> list[PodUsage]:
    """Simulated pods (the fake backend): a running pod uses exactly its requests (milli-units),
    from its start on."""
    return [
        sample_of(
            view,
            now,
            cpu_seconds=requests.get("cpu", 0) / _MILLI * (now - view.started),
            memory=requests.get("memory", 0) // _MILLI,
        )
        for view, requests in pods
        if view.phase == "Running" and view.started is not None
    ]

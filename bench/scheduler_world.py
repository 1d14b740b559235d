"""Shared builders for the scheduler benchmarks: big clusters and job databases, fast.

Jobs are inserted as records (as a restarted scheduler would after replaying the log), not
through one event each, so that building a million-job database is not what is measured.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable, Iterable

from armada.config.scheduling import SchedulingSettings
from armada.domain.jobs import JobSpec, SchedulingRequirements
from armada.domain.lifecycle import JobRecord, RunRecord, new_job
from armada.domain.queues import Queue
from armada.domain.states import JobState, RunState
from armada.scheduling import JobDb, Node, SchedulingResult, SchedulingSnapshot, schedule
from armada.scheduling.gcpause import gc_paused

GI = 2**30 * 1000
CPU = 1000
T0 = 1_700_000_000.0


def settings(**overrides: object) -> SchedulingSettings:
    values: dict[str, object] = {
        "maximum_scheduling_burst": 10_000_000,
        "maximum_per_queue_scheduling_burst": 10_000_000,
        "maximum_scheduling_rate": 1e9,
        "maximum_per_queue_scheduling_rate": 1e9,
        "max_scheduling_duration": "1h",
    }
    values.update(overrides)
    return SchedulingSettings.model_validate(values)


def nodes(count: int, cpu: int = 32, memory_gi: int = 256, pool: str = "default") -> list[Node]:
    return [
        Node(
            executor=f"cluster-{i // 1000}",
            name=f"node-{i:05d}",
            pool=pool,
            allocatable={"cpu": cpu * CPU, "memory": memory_gi * GI},
            labels={"kubernetes.io/hostname": f"node-{i:05d}"},
        )
        for i in range(count)
    ]


def spec(job_id: str, queue: str, req: SchedulingRequirements, at: float) -> JobSpec:
    return JobSpec(
        job_id=job_id,
        queue=queue,
        job_set="bench",
        namespace="default",
        priority=0,
        requirements=req,
        pod_spec=b"",
        submitted=at,
    )


def requirements(cpu: float, memory_gi: float, pc: str) -> SchedulingRequirements:
    return SchedulingRequirements(
        resources={"cpu": int(cpu * CPU), "memory": int(memory_gi * GI)}, priority_class=pc
    )


def queued(
    queues: list[str], per_queue: int, req: SchedulingRequirements, prefix: str = ""
) -> Iterable[JobRecord]:
    n = 0
    for q in queues:
        for i in range(per_queue):
            n += 1
            yield new_job(spec(f"{prefix}{q}-{i:07d}", q, req, T0 + n * 1e-3), T0 + n * 1e-3)


def running(
    placements: Iterable[tuple[str, Node]], req: SchedulingRequirements
) -> Iterable[JobRecord]:
    for n, (queue, node) in enumerate(placements):
        job_id = f"run-{queue}-{n:07d}"
        at = T0 + n * 1e-3
        run = RunRecord(
            run_id=f"r-{job_id}",
            job_id=job_id,
            executor=node.executor,
            node=node.name,
            pool=node.pool,
            state=RunState.RUNNING,
            leased_at=at,
            running_at=at + 1,
            scheduled_at_priority=1000,
        )
        job = new_job(spec(job_id, queue, req, at), at)
        yield JobRecord(
            spec=job.spec,
            state=JobState.RUNNING,
            priority=0,
            submitted_at=at,
            last_transition=at,
            runs=(run,),
        )


def load(db: JobDb, records: Iterable[JobRecord]) -> float:
    """Insert records in one transaction, with the cyclic GC paused (as a restart would)."""
    start = time.perf_counter()
    with gc_paused(), db.write() as txn:
        for record in records:
            txn.upsert(record)
    gc.freeze()  # what has been loaded is long-lived: keep it out of future collections
    return time.perf_counter() - start


def rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def time_rounds(
    snapshot: SchedulingSnapshot,
    config: SchedulingSettings,
    runs: int,
    check: Callable[[SchedulingResult], None],
    *,
    pause_gc: bool = True,
) -> list[float]:
    """Time ``runs`` rounds on the same snapshot (the core is pure, so each starts afresh).

    With ``pause_gc`` the round runs inside :func:`gc_paused`, as the scheduler service runs
    it; without, the cyclic collector runs as it likes. Returns the wall times; the CPU time
    of each round (this process's, which on a VM leaves out what the host stole) is printed,
    and its median (``round CPU median:``, which ``bench.compare_commits`` reads).
    """
    times, cpu_times = [], []
    for i in range(runs):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        if pause_gc:
            with gc_paused():
                result = schedule(snapshot, config, monotonic=time.monotonic)
        else:
            result = schedule(snapshot, config, monotonic=time.monotonic)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        check(result)
        times.append(elapsed)
        cpu_times.append(cpu)
        print(
            f"  run {i + 1}/{runs}: {elapsed:.3f} s (CPU {cpu:.3f} s), {len(result.leases)} "
            f"leases, {len(result.preemptions)} preemptions",
            flush=True,
        )
    print(f"  round CPU median: {median(cpu_times):.3f} s", flush=True)
    return times


def parse_args(runs: int) -> argparse.Namespace:
    """The options every scheduler benchmark takes."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=runs, help="rounds to time (median)")
    parser.add_argument("--gc", action="store_true", help="leave the cyclic GC running")
    return parser.parse_args()


def median(values: list[float]) -> float:
    return statistics.median(values)


def make_queues(count: int) -> list[Queue]:
    return [Queue(name=f"queue-{i:03d}") for i in range(count)]

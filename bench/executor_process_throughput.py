"""2,000 trivial jobs (``true``) through the executor on the process backend: jobs per second.

Everything real except the scheduler: a fake ExecutorApi server (gRPC, in this process) holds
2,000 leases and hands them out as the executor asks; the executor agent leases them, creates
each pod as a local process, follows it, and reports assigned/running/succeeded over gRPC. The
clock runs from the first lease request to the last ``succeeded`` event received.

    .venv/bin/python -m bench.executor_process_throughput [--jobs 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time

import uvloop

from armada.config.executor import ExecutorConfig, ProcessClusterSettings
from armada.executor.agent import ExecutorAgent
from armada.executor.process import ProcessCluster
from armada.executor.testing import FakeScheduler, lease_message

TARGET = 180.0


async def measure(jobs: int, limits: str) -> float:
    scheduler = FakeScheduler()
    await scheduler.start()
    with tempfile.TemporaryDirectory(prefix="armada-bench-") as logs:
        settings = ExecutorConfig(  # the defaults, but for where the process backend logs
            backend="process",
            scheduler_address=scheduler.address,
            process=ProcessClusterSettings(node_name="local", log_dir=logs, resource_limits=limits),
        )
        cluster = ProcessCluster(settings.process)
        for index in range(jobs):
            scheduler.add_lease(lease_message(f"job-{index:05d}", command=["true"], node="local"))
        agent = ExecutorAgent(settings=settings, cluster=cluster)
        stop = asyncio.Event()
        started = time.perf_counter()
        task = asyncio.create_task(agent.run(stop))
        done, seen, shown = 0, 0, started
        while done < jobs:
            await asyncio.sleep(0.01)
            fresh = scheduler.events[seen:]
            seen += len(fresh)
            done += sum(1 for e in fresh if e.WhichOneof("event") == "succeeded")
            if any(e.WhichOneof("event") == "failed" for e in fresh):
                raise SystemExit("a job failed: see the events")
            if time.perf_counter() - shown >= 0.5 or done == jobs:
                shown = time.perf_counter()
                print(f"  {done:5d}/{jobs} succeeded after {shown - started:5.2f}s", flush=True)
        elapsed = time.perf_counter() - started
        stop.set()
        await task
        await cluster.close()
    await scheduler.stop()
    return jobs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument(
        "--limits",
        choices=["auto", "cgroup", "rlimit", "off"],
        default="auto",
        help="how the backend enforces the pods' limits (process.resourceLimits)",
    )
    args = parser.parse_args()
    rate = uvloop.run(measure(args.jobs, args.limits))
    print(f"executor_process_throughput: {rate:.0f} jobs/s (target: >= {TARGET:.0f} jobs/s)")


if __name__ == "__main__":
    main()

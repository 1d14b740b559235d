"""10,000 jobs through two executors on 500-node fake clusters: jobs per second, end to end.

The load-test shape: two clusters of 500 simulated nodes (32 CPU, 256Gi) each with its own
executor agent and its own fake scheduler (gRPC, in this process). Each job sleeps one second
on the node its lease names. The clock runs from the start until every job's ``succeeded``
event has reached its scheduler, so it measures the executor's own per-job cost: leasing,
planning the pod, following it through the watch, and reporting three events.

    .venv/bin/python -m bench.executor_fake_throughput [--jobs 10000] [--nodes 500]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import uvloop

from armada.config.executor import ExecutorConfig, FakeClusterSettings, NodeGroupSettings
from armada.executor.agent import ExecutorAgent
from armada.executor.fake import FakeCluster
from armada.executor.testing import FakeScheduler, lease_message

TARGET = 1000.0
CLUSTERS = 2


async def measure(jobs: int, nodes: int) -> float:
    schedulers, agents, clusters = [], [], []
    for index in range(CLUSTERS):
        scheduler = FakeScheduler()
        await scheduler.start()
        settings = ExecutorConfig(
            cluster_id=f"cluster-{index}",
            scheduler_address=scheduler.address,
            max_leased_jobs=1000,
            submit_concurrency=64,
            fake=FakeClusterSettings(
                node_groups=[NodeGroupSettings(name=f"c{index}-node", count=nodes)]
            ),
        )
        cluster = FakeCluster(settings.fake, name=settings.cluster_id)
        for job in range(index, jobs, CLUSTERS):
            node = f"c{index}-node-{job // CLUSTERS % nodes}"
            scheduler.add_lease(lease_message(f"job-{job:06d}", command=["sleep", "1"], node=node))
        schedulers.append(scheduler)
        clusters.append(cluster)
        agents.append(ExecutorAgent(settings=settings, cluster=cluster))
    stop = asyncio.Event()
    started = time.perf_counter()
    tasks = [asyncio.create_task(agent.run(stop)) for agent in agents]
    done, seen, shown = 0, [0] * CLUSTERS, started
    while done < jobs:
        await asyncio.sleep(0.05)
        for index, scheduler in enumerate(schedulers):
            fresh = scheduler.events[seen[index] :]
            seen[index] += len(fresh)
            done += sum(1 for e in fresh if e.WhichOneof("event") == "succeeded")
        if time.perf_counter() - shown >= 1.0 or done == jobs:
            shown = time.perf_counter()
            print(f"  {done:6d}/{jobs} succeeded after {shown - started:5.1f}s", flush=True)
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*tasks)
    for cluster, scheduler in zip(clusters, schedulers, strict=True):
        await cluster.close()
        await scheduler.stop()
    return jobs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=500)
    args = parser.parse_args()
    rate = uvloop.run(measure(args.jobs, args.nodes))
    print(f"executor_fake_throughput: {rate:.0f} jobs/s (target: >= {TARGET:.0f} jobs/s)")


if __name__ == "__main__":
    main()

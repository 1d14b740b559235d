"""Benchmark (c): one full round with 1,000,000 queued jobs in 100 queues on 10,000 nodes.

The nodes (32 CPU, 256Gi) already run 100,000 jobs; the queued jobs come in two shapes per
queue. Rate limits are Armada's defaults (100 jobs/s, burst 1,000; per queue 50/s, burst
1,000), so a round leases at most 1,000 jobs: what is measured is that a million queued jobs
cost the round (almost) nothing beyond its queue heads. Prints the job database load time,
the round time (median) and the process RSS.

Run: .venv/bin/python -m bench.scheduler_million [--runs 3]
"""

from __future__ import annotations

import itertools

from armada.scheduling import JobDb, SchedulingResult, SchedulingSnapshot
from bench import scheduler_world as world

NODES, RUNNING_PER_NODE, QUEUES, QUEUED = 10_000, 10, 100, 1_000_000


def main() -> None:
    args = world.parse_args(runs=3)
    config = world.settings(
        maximum_scheduling_rate=100.0,
        maximum_scheduling_burst=1000,
        maximum_per_queue_scheduling_rate=50.0,
        maximum_per_queue_scheduling_burst=1000,
        max_scheduling_duration="5s",
    )
    print(f"RSS at start: {world.rss_mib():.0f} MiB", flush=True)
    db = JobDb(config.domain_priority_classes())
    queues = world.make_queues(QUEUES)
    names = [q.name for q in queues]
    cluster = world.nodes(NODES, cpu=32, memory_gi=256)
    cycle = itertools.cycle(names)
    slots = ((next(cycle), n) for n in cluster for _ in range(RUNNING_PER_NODE))
    took = world.load(db, world.running(slots, world.requirements(1, 4, "armada-default")))
    print(f"loaded {NODES * RUNNING_PER_NODE} running jobs in {took:.2f} s", flush=True)
    half = QUEUED // QUEUES // 2
    took = world.load(db, world.queued(names, half, world.requirements(1, 4, "armada-default")))
    took += world.load(
        db, world.queued(names, half, world.requirements(2, 8, "armada-default"), prefix="big-")
    )
    print(
        f"loaded {QUEUED} queued jobs in {took:.2f} s ({QUEUED / took:,.0f} jobs/s); "
        f"RSS {world.rss_mib():.0f} MiB",
        flush=True,
    )
    snapshot = SchedulingSnapshot(jobs=db.read(), nodes=cluster, queues=queues, now=world.T0 + 100)

    def check(result: SchedulingResult) -> None:
        assert len(result.leases) == 1000, len(result.leases)

    times = world.time_rounds(snapshot, config, args.runs, check, pause_gc=not args.gc)
    print(f"RSS after the rounds: {world.rss_mib():.0f} MiB (peak {world.peak_rss_mib():.0f} MiB)")
    print(
        f"scheduler_million_queued_round: {world.median(times):.3f} s (target: <= 2 s; "
        f"RSS {world.peak_rss_mib():.0f} MiB, target <= 1536 MiB)"
    )


if __name__ == "__main__":
    main()

"""Benchmark (b): a steady-state preempting pass over 32,000 running preemptible jobs.

1,000 x 32-CPU nodes are full with 1-CPU jobs of 10 equal queues, each with more queued.
``protectedFractionOfFairShare`` is 0, so every running job is evicted and must be put back
on its node, and every queued job must be found not to fit: the whole evict-and-reschedule
machinery runs, and the round ends where it started (no lease, no preemption).

Run: .venv/bin/python -m bench.scheduler_preempt [--runs 5]
"""

from __future__ import annotations

import itertools

from armada.scheduling import JobDb, SchedulingResult, SchedulingSnapshot
from bench import scheduler_world as world

NODES, PER_NODE, QUEUES, QUEUED_PER_QUEUE = 1_000, 32, 10, 1_000


def main() -> None:
    args = world.parse_args(runs=5)
    config = world.settings(protected_fraction_of_fair_share=0.0)
    db = JobDb(config.domain_priority_classes())
    queues = world.make_queues(QUEUES)
    names = [q.name for q in queues]
    cluster = world.nodes(NODES, cpu=32, memory_gi=256)
    req = world.requirements(1, 4, "armada-preemptible")
    cycle = itertools.cycle(names)  # exactly 3,200 jobs per queue: every queue at its share
    slots = ((next(cycle), n) for n in cluster for _ in range(PER_NODE))
    print(f"loading {NODES * PER_NODE} running and {QUEUES * QUEUED_PER_QUEUE} queued jobs ...")
    took = world.load(db, world.running(slots, req))
    took += world.load(db, world.queued(names, QUEUED_PER_QUEUE, req))
    print(f"  loaded in {took:.2f} s", flush=True)
    snapshot = SchedulingSnapshot(jobs=db.read(), nodes=cluster, queues=queues, now=world.T0 + 100)

    def check(result: SchedulingResult) -> None:
        assert not result.leases and not result.preemptions, (
            len(result.leases),
            len(result.preemptions),
        )
        assert sum(q.evicted_jobs for q in result.pools[0].queues) == NODES * PER_NODE

    times = world.time_rounds(snapshot, config, args.runs, check, pause_gc=not args.gc)
    print(f"scheduler_preempting_pass_32k_running: {world.median(times):.3f} s (target: <= 1.3 s)")


if __name__ == "__main__":
    main()

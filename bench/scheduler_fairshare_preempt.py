"""Benchmark: fair-share preemption at scale, a newcomer queue taking half of a full cluster.

1,000 x 32-CPU nodes are full with 32,000 preemptible 1-CPU jobs of one queue; a second queue
arrives with 32,000 queued jobs of the same shape. With the default
``protectedFractionOfFairShare`` (1.0) the first queue, at twice its fair share, is evicted;
progressive filling then puts back half of its jobs and gives the other half's room to the
newcomer: about 16,000 leases and 16,000 preemptions in one round. Rate limits are lifted (as
in ``scheduler_place``): with Armada's defaults a round would lease at most 1,000 jobs.

Unlike ``scheduler_preempt``, where every evicted job goes back, this measures a round that
really moves jobs: evictions, restores, placements in evicted jobs' room and preemptions.

Run: .venv/bin/python -m bench.scheduler_fairshare_preempt [--runs 3]
"""

from __future__ import annotations

from armada.scheduling import JobDb, SchedulingResult, SchedulingSnapshot
from bench import scheduler_world as world

NODES, PER_NODE = 1_000, 32
RUNNING = QUEUED = NODES * PER_NODE


def main() -> None:
    args = world.parse_args(runs=3)
    config = world.settings()
    db = JobDb(config.domain_priority_classes())
    queues = world.make_queues(2)
    holder, newcomer = (q.name for q in queues)
    cluster = world.nodes(NODES, cpu=32, memory_gi=256)
    req = world.requirements(1, 4, "armada-preemptible")
    print(f"loading {RUNNING} running jobs of {holder} and {QUEUED} queued of {newcomer} ...")
    slots = ((holder, n) for n in cluster for _ in range(PER_NODE))
    took = world.load(db, world.running(slots, req))
    took += world.load(db, world.queued([newcomer], QUEUED, req))
    print(f"  loaded in {took:.2f} s", flush=True)
    snapshot = SchedulingSnapshot(jobs=db.read(), nodes=cluster, queues=queues, now=world.T0 + 100)

    def check(result: SchedulingResult) -> None:
        preempted, leased = len(result.preemptions), len(result.leases)
        assert leased == preempted, (leased, preempted)  # the cluster stays full
        assert abs(preempted - RUNNING // 2) <= NODES, preempted  # about half moves
        assert all(p.kind == "fair-share" and p.queue == holder for p in result.preemptions)

    times = world.time_rounds(snapshot, config, args.runs, check, pause_gc=not args.gc)
    print(f"scheduler_fairshare_preempt_32k_moving_half: {world.median(times):.3f} s")


if __name__ == "__main__":
    main()

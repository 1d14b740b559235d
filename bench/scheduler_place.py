"""Benchmark (a): place 32,000 1-CPU/4Gi jobs on 1,000 x 32-CPU nodes in one round.

Run: .venv/bin/python -m bench.scheduler_place [--runs 5]
"""

from __future__ import annotations

from armada.scheduling import JobDb, SchedulingResult, SchedulingSnapshot
from bench import scheduler_world as world

JOBS, NODES, QUEUES = 32_000, 1_000, 10


def main() -> None:
    args = world.parse_args(runs=5)
    config = world.settings()
    db = JobDb(config.domain_priority_classes())
    queues = world.make_queues(QUEUES)
    req = world.requirements(1, 4, "armada-default")
    print(f"loading {JOBS} queued jobs in {QUEUES} queues ...", flush=True)
    took = world.load(db, world.queued([q.name for q in queues], JOBS // QUEUES, req))
    print(f"  loaded in {took:.2f} s", flush=True)
    snapshot = SchedulingSnapshot(
        jobs=db.read(),
        nodes=world.nodes(NODES, cpu=32, memory_gi=256),
        queues=queues,
        now=world.T0 + 100,
    )

    def check(result: SchedulingResult) -> None:
        assert len(result.leases) == JOBS, len(result.leases)

    times = world.time_rounds(snapshot, config, args.runs, check, pause_gc=not args.gc)
    print(f"scheduler_place_32k_jobs_1k_nodes: {world.median(times):.3f} s (target: <= 0.6 s)")


if __name__ == "__main__":
    main()

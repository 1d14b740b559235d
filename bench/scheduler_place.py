"""Benchmark (a): place 32,000 1-CPU/4Gi jobs on 1,000 x 32-CPU nodes in one round.

Run: .venv/bin/python -m bench.scheduler_place [--runs 5]
"""

from __future__ import annotations

from armada.scheduling import JobDb, SchedulingResult, SchedulingSnapshot
from bench.scheduler_world import (
    T0,
    load,
    make_queues,
    median,
    nodes,
    parse_args,
    queued,
    requirements,
    settings,
    time_rounds,
)

JOBS, NODES, QUEUES = 32_000, 1_000, 10


def main() -> None:
    args = parse_args(runs=5)
    config = settings()
    db = JobDb(config.domain_priority_classes())
    queues = make_queues(QUEUES)
    req = requirements(1, 4, "armada-default")
    print(f"loading {JOBS} queued jobs in {QUEUES} queues ...", flush=True)
    took = load(db, queued([q.name for q in queues], JOBS // QUEUES, req))
    print(f"  loaded in {took:.2f} s", flush=True)
    snapshot = SchedulingSnapshot(
        jobs=db.read(), nodes=nodes(NODES, cpu=32, memory_gi=256), queues=queues, now=T0 + 100
    )

    def check(result: SchedulingResult) -> None:
        assert len(result.leases) == JOBS, len(result.leases)

    times = time_rounds(snapshot, config, args.runs, check, pause_gc=not args.gc)
    print(f"scheduler_place_32k_jobs_1k_nodes: {median(times):.3f} s (target: <= 0.6 s)")


if __name__ == "__main__":
    main()

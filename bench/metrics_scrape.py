"""The cost of one scrape of the scheduler's /metrics with 100,000 queued jobs.

A job database of 100,000 queued jobs (10 queues, 2 priority classes, 3 shapes each) and
10,000 running ones on 1,000 nodes; one real round, recorded as the service records it; the
gRPC metrics of a handful of methods. Timed, in the same run:

* ``scrape``: ``generate_latest`` of that registry, which is what ``GET /metrics`` does;
* ``floor``: formatting the same samples, already computed (what any collector pays);
* ``per-job walk``: what a collector walking every job to count queued jobs per queue and
  priority class would add (Armada's own collector walks its job database, in the background).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from armada.domain.lifecycle import JobRecord
from armada.domain.states import JobState
from armada.http.grpc_metrics import GrpcMetrics
from armada.schedulerservice.metrics import (
    SchedulerGauges,
    cluster_capacity,
    queued_gauges,
    round_gauges,
)
from armada.scheduling import JobDb, SchedulingSnapshot, schedule
from armada.scheduling.reports import ReportHistory
from bench.scheduler_world import (
    load,
    make_queues,
    nodes,
    queued,
    requirements,
    running,
    settings,
)

QUEUED = 100_000
QUEUES = 10
RUNNING = 10_000
NODES = 1_000


def build() -> tuple[JobDb, ReportHistory, CollectorRegistry]:
    config = settings()
    db = JobDb(config.domain_priority_classes(), config.default_priority_class_name)
    names = [q.name for q in make_queues(QUEUES)]
    shapes = [
        requirements(cpu, mem, pc)
        for cpu, mem in ((1, 4), (2, 8), (4, 16))
        for pc in ("armada-default", "armada-preemptible")
    ]
    per_shape = QUEUED // QUEUES // len(shapes)
    records: list[Iterable[JobRecord]] = [
        queued(names, per_shape, shape, prefix=f"s{i}-") for i, shape in enumerate(shapes)
    ]
    farm = nodes(NODES)
    placements = [(names[i % QUEUES], farm[i % NODES]) for i in range(RUNNING)]
    records.append(running(placements, shapes[0]))
    seconds = load(db, (r for batch in records for r in batch))
    print(f"loaded {len(db.read()):,} jobs in {seconds:.1f} s", flush=True)
    snapshot = SchedulingSnapshot(
        jobs=db.read(), nodes=farm, queues=make_queues(QUEUES), now=1_700_000_100.0
    )
    result = schedule(snapshot, settings(maximum_scheduling_burst=1), monotonic=time.monotonic)
    history = ReportHistory()
    history.record(result)
    registry = CollectorRegistry()
    gauges = SchedulerGauges(db.read, history)
    gauges.capacity = cluster_capacity(farm)
    registry.register(gauges)
    grpc_metrics = GrpcMetrics(registry)
    for method in ("SubmitJobs", "CancelJobs", "GetJobStatus", "GetJobSetEvents"):
        grpc_metrics.started.labels("unary", "api.Submit", method).inc()
        grpc_metrics.handled.labels("unary", "api.Submit", method, "OK").inc()
        grpc_metrics.seconds.labels("unary", "api.Submit", method).observe(0.01)
    return db, history, registry


class Frozen(Collector):
    """The same samples, computed once: only formatting is left to time."""

    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics


def walk_every_job(db: JobDb) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for job in db.read().jobs():
        if job.state is JobState.QUEUED:
            key = (job.spec.queue, job.spec.requirements.priority_class)
            counts[key] = counts.get(key, 0) + 1
    return counts


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    db, history, registry = build()
    gc.collect()
    size = len(generate_latest(registry))
    samples = sum(len(m.samples) for m in registry.collect())
    frozen = CollectorRegistry()
    frozen.register(Frozen([*registry.collect()]))
    print(f"one scrape: {samples} samples, {size:,} bytes", flush=True)
    scrape = timed(lambda: generate_latest(registry), args.runs)
    floor = timed(lambda: generate_latest(frozen), args.runs)
    gauges = timed(lambda: [*queued_gauges(db.read()), *round_gauges(history)], args.runs)
    walk = timed(lambda: walk_every_job(db), max(3, args.runs // 10))
    for name, times in (
        ("scrape", scrape),
        ("floor (formatting only)", floor),
        ("scheduler gauges alone", gauges),
        ("per-job walk", walk),
    ):
        print(
            f"  {name}: median {statistics.median(times) * 1000:.2f} ms, "
            f"max {max(times) * 1000:.2f} ms ({len(times)} runs)"
        )
    print(
        f"metrics_scrape: {statistics.median(scrape) * 1000:.2f} ms "
        f"(100,000 queued jobs; floor {statistics.median(floor) * 1000:.2f} ms; "
        f"per-job walk {statistics.median(walk) * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()

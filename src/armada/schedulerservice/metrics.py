"""The scheduler's Prometheus metrics, named after Armada's (docs/metrics.md lists both).

Two kinds, both cheap and none labelled by job:

* what moves: counters of jobs scheduled, preempted and failed, and histograms of round
  times, of time spent queued and of run times. :class:`SchedulerMetrics` updates them from
  each round's result and from the log entries the scheduler reads (listeners of the service,
  called on its worker thread: a handful of dictionary operations per event);
* what stands: gauges read at scrape time by :class:`SchedulerGauges` from immutable data,
  the last round's report (shares, demand, running jobs and allocation per queue and pool)
  and the job database's current snapshot (queued jobs per queue and priority class, from its
  groups of twins: the cost grows with the number of scheduling keys, not of jobs).
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from armada.domain import events as ev
from armada.domain.lifecycle import JobRecord
from armada.schedulerservice.service import RoundOutcome, SchedulerService
from armada.scheduling import JobDbSnapshot, Node
from armada.scheduling.reports import ReportHistory

MILLI = 1000.0  # resources are kept in milli-units; Armada exposes units (cores, bytes)

# Armada's round histograms are in milliseconds (its buckets: 10 ms x 1.1^n); fewer buckets here.
ROUND_MS_BUCKETS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000)
QUEUED_SECONDS_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
RUN_SECONDS_BUCKETS = tuple(float(2**i) for i in range(1, 21))  # Armada's: 2 s .. 2^20 s

CLASS_LABELS = ("pool", "queue", "priority_class", "type")
# Events that end a run: its run time is observed then.
_RUN_ENDS = (ev.JobRunSucceeded, ev.JobRunFailed, ev.JobRunPreempted, ev.JobRunCancelled)


def _class_of(job: JobRecord | None) -> str:
    return job.spec.requirements.priority_class if job is not None else ""


class SchedulerMetrics:
    """The scheduler's counters and histograms, and its scrape-time gauges, in ``registry``."""

    def __init__(self, registry: CollectorRegistry, service: SchedulerService) -> None:
        self.scheduled = Counter(
            "armada_scheduler_scheduled_jobs",
            "Jobs leased by the scheduling rounds (type: new, or requeued for a job that ran)",
            CLASS_LABELS,
            registry=registry,
        )
        self.preempted = Counter(
            "armada_scheduler_preempted_jobs",
            "Runs preempted (type: fair-share, urgency, gang, or requested by a user)",
            CLASS_LABELS,
            registry=registry,
        )
        self.failed = Counter(
            "armada_scheduler_failed_jobs",
            "Jobs failed for good (type: the failure's category)",
            CLASS_LABELS,
            registry=registry,
        )
        self.cycle_time = Histogram(
            "armada_scheduler_schedule_cycle_times",
            "Duration of a scheduling round, with its appends to the log, in milliseconds",
            buckets=ROUND_MS_BUCKETS,
            registry=registry,
        )
        self.pool_cycle_time = Histogram(
            "armada_scheduler_pool_scheduling_cycle_times",
            "Duration of one pool's part of a scheduling round, in milliseconds",
            ("pool",),
            buckets=ROUND_MS_BUCKETS,
            registry=registry,
        )
        self.queued_time = Histogram(
            "armada_scheduler_job_queued_duration_seconds",
            "Time a job spent queued before a lease, observed when it is leased",
            ("pool", "queue", "priority_class"),
            buckets=QUEUED_SECONDS_BUCKETS,
            registry=registry,
        )
        self.run_time = Histogram(
            "armada_scheduler_job_run_completed_duration_seconds",
            "Time from a run's start to its end (succeeded, failed, preempted, cancelled)",
            ("queue", "pool"),
            buckets=RUN_SECONDS_BUCKETS,
            registry=registry,
        )
        self.gauges = SchedulerGauges(service.jobdb.read, service.history)
        registry.register(self.gauges)
        service.on_round(self.record_round)
        service.on_log_entries(self.record_entries)

    def record_round(self, outcome: RoundOutcome) -> None:
        result, jobs = outcome.result, outcome.jobs
        scheduled: Tally[tuple[str, str, str, str]] = Tally()
        for lease in result.leases:
            job = jobs.get(lease.job_id)
            kind = "requeued" if job is not None and job.runs else "new"
            scheduled[(lease.pool, lease.queue, _class_of(job), kind)] += 1
        preempted: Tally[tuple[str, str, str, str]] = Tally()
        for p in result.preemptions:
            preempted[(p.pool, p.queue, _class_of(jobs.get(p.job_id)), p.kind)] += 1
        for labels, n in scheduled.items():
            self.scheduled.labels(*labels).inc(n)
        for labels, n in preempted.items():
            self.preempted.labels(*labels).inc(n)
        self.cycle_time.observe(outcome.seconds * MILLI)
        for pool in result.pools:
            self.pool_cycle_time.labels(pool.pool).observe(pool.duration * MILLI)
        self.gauges.capacity = cluster_capacity(outcome.nodes)

    def record_entries(self, entries: Sequence[ev.LogEntry], before: JobDbSnapshot) -> None:
        for entry in entries:
            sequence = entry.sequence
            at = sequence.created
            for event in sequence.events:
                if isinstance(event, ev.JobRunLeased):
                    self._leased(event, before.get(event.job_id), at)
                elif isinstance(event, ev.JobFailed):
                    self._failed(event, before.get(event.job_id))
                if isinstance(event, _RUN_ENDS):
                    job = before.get(event.job_id)
                    self._run_ended(event.run_id, job, at)
                    if isinstance(event, ev.JobRunPreempted) and not sequence.cause.startswith(
                        "scheduler/cycle-"
                    ):  # the rounds' own preemptions are counted with the round
                        self._requested_preemption(job)

    def _leased(self, event: ev.JobRunLeased, job: JobRecord | None, at: float) -> None:
        if job is None:
            return
        waited = max(0.0, at - job.last_transition)
        self.queued_time.labels(event.pool, job.spec.queue, _class_of(job)).observe(waited)

    def _failed(self, event: ev.JobFailed, job: JobRecord | None) -> None:
        if job is None:
            return
        run = job.latest_run
        pool = run.pool if run is not None else ""
        category = event.failure.category or "uncategorized"
        self.failed.labels(pool, job.spec.queue, _class_of(job), category).inc()

    def _run_ended(self, run_id: str, job: JobRecord | None, at: float) -> None:
        run = job.active_run if job is not None else None
        if job is None or run is None or run.run_id != run_id or run.running_at is None:
            return  # a run that never started has no run time
        self.run_time.labels(job.spec.queue, run.pool).observe(max(0.0, at - run.running_at))

    def _requested_preemption(self, job: JobRecord | None) -> None:
        run = job.active_run if job is not None else None
        if job is None or run is None:
            return
        self.preempted.labels(run.pool, job.spec.queue, _class_of(job), "requested").inc()


def cluster_capacity(nodes: Iterable[Node]) -> dict[tuple[str, str, str], float]:
    """What the nodes offer Armada, by (cluster, pool, resource), in units."""
    totals: dict[tuple[str, str, str], float] = {}
    for node in nodes:
        for resource in node.allocatable:
            key = (node.executor, node.pool, resource)
            totals[key] = totals.get(key, 0.0) + node.available(resource) / MILLI
    return totals


def _gauge(name: str, help_text: str, labels: Sequence[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, labels=list(labels))


class SchedulerGauges(Collector):
    """Gauges read at scrape time from immutable data: the last round's report, the job
    database's current snapshot, and the capacity the last round saw (set by
    :class:`SchedulerMetrics`)."""

    def __init__(self, jobs: Callable[[], JobDbSnapshot], history: ReportHistory) -> None:
        self._jobs = jobs
        self._history = history
        self.capacity: dict[tuple[str, str, str], float] = {}

    def collect(self) -> Iterator[Metric]:
        rounds = self._history.rounds
        known = {q.queue for p in rounds[-1].pools for q in p.queues} if rounds else set()
        yield from queued_gauges(self._jobs(), known)
        yield from round_gauges(self._history)
        capacity = _gauge(
            "armada_cluster_capacity",
            "What the nodes of a cluster offer Armada, by pool, as the last round saw them",
            ("cluster", "pool", "resourceType"),
        )
        for (cluster, pool, resource), value in sorted(self.capacity.items()):
            capacity.add_metric([cluster, pool, resource], value)
        yield capacity


def queued_gauges(snap: JobDbSnapshot, known: Iterable[str] = ()) -> Iterator[Metric]:
    """Queued jobs per queue (and priority class, and pool for their resources), from the job
    database's groups of twins: one step per group, whatever its size. The ``known`` queues
    have a size even with nothing queued (0, rather than no series)."""
    size = _gauge(
        "armada_queue_size",
        "Queued jobs of a queue (unvalidated: not yet through the submit check)",
        ("queueName", "queue", "state"),
    )
    keys = _gauge(
        "armada_queue_distinct_scheduling_keys",
        "Distinct scheduling keys among a queue's queued jobs",
        ("queueName", "queue"),
    )
    by_class = _gauge(
        "armada_scheduler_queued_jobs",
        "Queued jobs of a queue by priority class",
        ("queue", "priority_class"),
    )
    resources = _gauge(
        "armada_queue_resource_queued",
        "Resources requested by queued jobs that may run in the pool ('': not yet validated)",
        ("pool", "priorityClass", "queueName", "queue", "resourceType"),
    )
    for queue in sorted({*snap.queues_with_queued_jobs(), *known}):
        states = {"validated": 0, "unvalidated": 0}
        classes: dict[str, int] = {}
        requested: dict[tuple[str, str, str], float] = {}
        key_ids = set()
        for group_id, members in snap.queued_groups(queue).items():
            n = len(members)
            if not n:
                continue
            group = snap.groups[group_id]
            key = group.key
            states["validated" if group.pools is not None else "unvalidated"] += n
            key_ids.add(key.id)
            pc = key.priority_class
            classes[pc] = classes.get(pc, 0) + n
            for pool in sorted(group.pools) if group.pools is not None else ("",):
                for resource, milli in key.requirements.resources.items():
                    slot = (pool, pc, resource)
                    requested[slot] = requested.get(slot, 0.0) + n * milli / MILLI
        for state, n in states.items():
            size.add_metric([queue, queue, state], n)
        keys.add_metric([queue, queue], len(key_ids))
        for pc, n in sorted(classes.items()):
            by_class.add_metric([queue, pc], n)
        for (pool, pc, resource), value in sorted(requested.items()):
            resources.add_metric([pool, pc, queue, queue, resource], value)
    yield from (size, keys, by_class, resources)


_SHARES = (
    ("armada_scheduler_fair_share", "Fair share of each queue", "fair_share"),
    (
        "armada_scheduler_adjusted_fair_share",
        "Adjusted fair share of each queue (capped by demand)",
        "adjusted_fair_share",
    ),
    ("armada_scheduler_actual_share", "Actual share of each queue after the round", "share_after"),
    ("armada_scheduler_demand", "Demand of each queue, as a share of the pool", "demand_share"),
    ("armada_scheduler_queue_weight", "Weight of each queue", "weight"),
)


def round_gauges(history: ReportHistory) -> Iterator[Metric]:
    """The last round's view of every pool and queue (nothing before the first round)."""
    rounds = history.rounds
    last = rounds[-1] if rounds else None
    pools = last.pools if last is not None else ()
    shares = [(_gauge(name, text, ("pool", "queue")), field) for name, text, field in _SHARES]
    evicted = _gauge(
        "armada_scheduler_evicted_jobs", "Jobs evicted in the last round", ("pool", "queue")
    )
    running = _gauge(
        "armada_scheduler_running_jobs",
        "Running jobs of a queue by priority class, when the last round began",
        ("pool", "queue", "priority_class"),
    )
    allocated = _gauge(
        "armada_queue_resource_allocated",
        "Resources held by a queue's running jobs after the last round",
        ("pool", "priorityClass", "queueName", "queue", "resourceType"),
    )
    nodes = _gauge("armada_scheduler_node_pool_size", "Nodes in each pool", ("pool",))
    info = _gauge("armada_scheduler_pool_info", "The pools being scheduled", ("pool",))
    for report in pools:
        pool = report.pool
        nodes.add_metric([pool], report.nodes)
        info.add_metric([pool], 1)
        for q in report.queues:
            for family, field in shares:
                family.add_metric([pool, q.queue], getattr(q, field))
            evicted.add_metric([pool, q.queue], q.evicted_jobs)
            for pc, n in sorted(q.running_by_priority_class.items()):
                running.add_metric([pool, q.queue, pc], n)
            for pc, held in sorted(q.allocated_by_priority_class.items()):
                for resource, milli in sorted(held.items()):
                    allocated.add_metric([pool, pc, q.queue, q.queue, resource], milli / MILLI)
    yield from (family for family, _ in shares)
    yield from (evicted, running, allocated, nodes, info)

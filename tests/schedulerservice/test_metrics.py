"""The scheduler's metrics, on a service with virtual time: what moves them, by how much, and
that a restart's replay of the log is not counted again."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from armada.domain import events as ev
from armada.domain.clock import SequentialIds
from armada.schedulerservice.metrics import SchedulerMetrics
from armada.schedulerservice.service import SchedulerService
from tests.builders import requirements
from tests.schedulerservice.harness import SMALL, Harness, harness, made, run_report

A = {"pool": "default", "queue": "queue-a", "priority_class": "armada-default"}


def metered(h: Harness) -> CollectorRegistry:
    registry = CollectorRegistry()
    SchedulerMetrics(registry, h.service)
    return registry


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_rounds_and_reports_move_the_counters_and_histograms() -> None:
    h = harness()
    registry = metered(h)
    h.create_queue()
    h.heartbeat(nodes=1, cpu="4")
    h.submit("j1", "j2", requirements=SMALL)
    h.advance(5)
    h.service.tick()
    assert sample(registry, "armada_scheduler_scheduled_jobs_total", **A, type="new") == 2
    queued = {"pool": "default", "queue": "queue-a", "priority_class": "armada-default"}
    waited = "armada_scheduler_job_queued_duration_seconds"
    assert sample(registry, f"{waited}_count", **queued) == 2
    assert sample(registry, f"{waited}_sum", **queued) == 10.0, "5 s each"
    assert sample(registry, "armada_scheduler_schedule_cycle_times_count") == 1
    assert sample(registry, "armada_scheduler_pool_scheduling_cycle_times_count", pool="default")

    snap = h.service.jobdb.read()
    runs = {j: snap[j].active_run.run_id for j in ("j1", "j2")}  # type: ignore[union-attr]
    for job_id, run_id in runs.items():
        h.service.handle_reports("cluster-1", [run_report("running", job_id=job_id, run_id=run_id)])
    h.advance(7)
    h.service.handle_reports("cluster-1", [run_report("succeeded", job_id="j1", run_id=runs["j1"])])
    failure = ev.FailureInfo(reason="out of memory", cause="OOM", category="oom")
    failed = run_report("failed", job_id="j2", run_id=runs["j2"], failure=failure)
    h.service.handle_reports("cluster-1", [failed])
    assert h.state_of("j2") == "FAILED"
    ran = "armada_scheduler_job_run_completed_duration_seconds"
    assert sample(registry, f"{ran}_count", queue="queue-a", pool="default") == 2
    assert sample(registry, f"{ran}_sum", queue="queue-a", pool="default") == 14.0, "7 s each"
    assert sample(registry, "armada_scheduler_failed_jobs_total", **A, type="oom") == 1

    # A restarted scheduler replays the log: none of it is counted again.
    service = SchedulerService(
        h.storage, h.service.config, h.clock, SequentialIds("restarted-"), monotonic=h.monotonic
    )
    made.append(service)
    again = CollectorRegistry()
    SchedulerMetrics(again, service)
    service.ingest()
    assert sample(again, "armada_scheduler_failed_jobs_total", **A, type="oom") == 0
    assert sample(again, f"{ran}_count", queue="queue-a", pool="default") == 0
    assert sample(again, f"{waited}_count", **queued) == 0


def test_a_users_preemption_is_counted_as_requested() -> None:
    h = harness()
    registry = metered(h)
    h.create_queue()
    h.heartbeat(nodes=1, cpu="4")
    h.submit("j1", requirements=SMALL)
    h.service.tick()
    h.user_events(ev.JobPreemptionRequested(job_id="j1"))
    h.service.tick()
    assert h.state_of("j1") == "PREEMPTED"
    assert sample(registry, "armada_scheduler_preempted_jobs_total", **A, type="requested") == 1


def test_queued_jobs_are_counted_by_queue_and_priority_class_from_their_groups() -> None:
    h = harness()
    registry = metered(h)
    h.create_queue()
    h.create_queue("queue-b")
    preemptible = requirements(priority_class="armada-preemptible")
    h.submit("a1", "a2", requirements=SMALL)
    h.submit("a3", "a4", "a5", requirements=preemptible)
    h.submit("b1", queue="queue-b", requirements=SMALL)
    h.service.tick()  # no nodes: nothing leased, nothing validated yet
    by_class = "armada_scheduler_queued_jobs"
    assert sample(registry, by_class, queue="queue-a", priority_class="armada-default") == 2
    assert sample(registry, by_class, queue="queue-a", priority_class="armada-preemptible") == 3
    assert sample(registry, by_class, queue="queue-b", priority_class="armada-default") == 1
    size = {"queue": "queue-a", "queueName": "queue-a"}
    assert sample(registry, "armada_queue_size", **size, state="unvalidated") == 5
    assert sample(registry, "armada_queue_distinct_scheduling_keys", **size) == 2
    cpu = {"pool": "", "priorityClass": "armada-default", "resourceType": "cpu"}
    assert sample(registry, "armada_queue_resource_queued", **size, **cpu) == 2.0, "1 CPU each"

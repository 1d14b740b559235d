"""Issue 14.6: runs report their resource usage (Armada's JobUtilisationEvent): the most and
the average of their samples, once per reporting interval and once when they end."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from armada.config.executor import ProcessClusterSettings
from armada.domain.resources import parse_quantity
from armada.executor.fake import FakeCluster
from armada.executor.process import ProcessCluster
from armada.executor.testing import FakeScheduler, lease_message, pod_spec_bytes
from armada.executor.usage import PodUsage, UsageAggregator, process_group_usage
from tests.executor.conftest import fast_settings, running_agent

MI = 2**20


def sample(run: str, *, cpu_seconds: float, memory: int, started: float = 0.0) -> PodUsage:
    return PodUsage(
        run_id=run,
        job_id=f"job-{run}",
        pod_name=f"armada-job-{run}-0",
        namespace="default",
        node="n1",
        started=started,
        cpu_seconds=cpu_seconds,
        memory=memory,
    )


def test_one_report_per_run_per_interval_with_the_most_and_the_average() -> None:
    usage = UsageAggregator(interval=10.0, executor="c1")
    reports = []
    # One core busy for 4 s, then idle; memory 100Mi then 300Mi; sampled every second.
    for second in range(1, 21):
        cpu = min(second, 4) * 1.0
        memory = (100 if second < 5 else 300) * MI
        reports += usage.add([sample("r", cpu_seconds=cpu, memory=memory)], now=float(second))
    assert len(reports) == 2  # 20 samples over 20 s: two periods of 10 s, not 20 events
    first = reports[0]
    assert (first.job_id, first.run_id, first.executor, first.node) == ("job-r", "r", "c1", "n1")
    assert first.max_resources == {"cpu": 1000, "memory": 300 * MI * 1000}
    # Samples 1..10 (the first is the average since the start, one core): 4 busy of 10.
    assert first.avg_resources["cpu"] == 400
    assert first.avg_resources["memory"] == (4 * 100 + 6 * 300) // 10 * MI * 1000
    assert first.cumulative == {"cpu": 4000}  # core-seconds, in milli-units
    assert reports[1].max_resources["cpu"] == 0 and reports[1].cumulative == {"cpu": 4000}


def test_a_run_that_ends_reports_its_last_period_once() -> None:
    usage = UsageAggregator(interval=300.0, executor="c1")
    assert usage.add([sample("r", cpu_seconds=0.5, memory=MI)], now=1.0) == []
    last = usage.flush("r")
    assert last is not None and last.max_resources["cpu"] == 500
    assert usage.flush("r") is None and len(usage) == 0
    # A pod that stops being sampled (it ended before its run's final event) reports too.
    usage.add([sample("s", cpu_seconds=1.0, memory=MI)], now=1.0)
    (gone,) = usage.add([], now=2.0)
    assert gone.run_id == "s" and len(usage) == 0


def test_process_groups_are_measured_from_proc() -> None:
    # Busy for 0.4 s of CPU time, however loaded the machine is.
    busy = 'import time\nx = b"1" * (64 * 2**20)\n' + (
        "while time.process_time() < 0.4: pass\nprint('done', flush=True)\ninput()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", busy],
        start_new_session=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "done"
            used = process_group_usage({child.pid})
            cpu, memory = used[os.getpgid(child.pid)]
            assert cpu >= 0.3
            assert memory >= 64 * MI
            assert process_group_usage({child.pid + 10**7}) == {}  # no such group
        finally:
            child.kill()


async def test_the_process_backend_reports_a_runs_usage_before_its_end(
    tmp_path: Path, scheduler: FakeScheduler
) -> None:
    settings = fast_settings(
        scheduler.address,
        backend="process",
        utilisation_sample_interval="100ms",
        utilisation_reporting_interval="5m",
    )
    cluster = ProcessCluster(ProcessClusterSettings(node_name="local", log_dir=str(tmp_path)))
    program = (  # busy for 1 s of CPU time, however loaded the machine is
        'import time; x = b"1" * (64 * 2**20)\nwhile time.process_time() < 1.0: pass'
    )
    async with running_agent(settings, cluster):
        spec = pod_spec_bytes([sys.executable, "-c", program], cpu="2", memory="512Mi")  # no cap
        scheduler.add_lease(lease_message("busy", node="local", pod_spec=spec))
        await scheduler.wait_until(lambda: "succeeded" in scheduler.kinds("run-busy"))
    kinds = scheduler.kinds("run-busy")
    assert kinds.count("utilisation") == 1  # one period (5 m), reported as the run ended
    assert kinds.index("utilisation") < kinds.index("succeeded")
    report = scheduler.last_of("run-busy", "utilisation").utilisation
    assert parse_quantity(report.max_resources["memory"]) >= 64 * MI * 1000
    assert parse_quantity(report.max_resources["cpu"]) >= 100  # a core at best, less if loaded
    assert parse_quantity(report.total_cumulative_usage["cpu"]) >= 500  # of the 1 s it used
    assert (report.node, report.pod_name) == ("local", "armada-busy-0")
    await cluster.close()


async def test_a_simulated_pod_uses_what_it_requested(scheduler: FakeScheduler) -> None:
    settings = fast_settings(
        scheduler.address,
        utilisation_sample_interval="50ms",
        utilisation_reporting_interval="300ms",
    )
    cluster = FakeCluster(settings.fake, node_id_label=settings.node_id_label)
    async with running_agent(settings, cluster):
        spec = pod_spec_bytes(["sleep", "1"], cpu="150m")  # requests cpu 150m, memory 64Mi
        scheduler.add_lease(lease_message("j", node="node-0", pod_spec=spec))
        await scheduler.wait_until(lambda: "succeeded" in scheduler.kinds("run-j"))
    kinds = scheduler.kinds("run-j")
    periods = kinds.count("utilisation")
    assert 2 <= periods <= 5  # about a second in periods of 0.3 s, and the last one
    assert kinds.index("utilisation") > kinds.index("running")
    assert kinds[-1] == "succeeded"
    report = scheduler.last_of("run-j", "utilisation").utilisation
    assert dict(report.max_resources) == {"cpu": "150m", "memory": "64Mi"}
    assert dict(report.avg_resources) == {"cpu": "150m", "memory": "64Mi"}
    await cluster.close()


async def test_a_simulated_pods_usage_can_be_set_by_annotation(scheduler: FakeScheduler) -> None:
    settings = fast_settings(scheduler.address, utilisation_sample_interval="50ms")
    cluster = FakeCluster(settings.fake, node_id_label=settings.node_id_label)
    async with running_agent(settings, cluster):
        spec = pod_spec_bytes(["sleep", "0.5"], cpu="150m")
        usage = {"armadaproject.io/fake-usage": "memory=1Gi"}  # cpu stays the request
        scheduler.add_lease(lease_message("j", node="node-0", pod_spec=spec, annotations=usage))
        bad = {"armadaproject.io/fake-usage": "memory=lots"}
        scheduler.add_lease(lease_message("bad", node="node-1", annotations=bad))
        await scheduler.wait_until(
            lambda: "succeeded" in scheduler.kinds("run-j") and scheduler.kinds("run-bad")
        )
    report = scheduler.last_of("run-j", "utilisation").utilisation
    assert dict(report.max_resources) == {"cpu": "150m", "memory": "1Gi"}
    failed = scheduler.last_of("run-bad", "failed").failed
    assert "fake-usage" in failed.reason and failed.subcategory == "job-creation-failed"
    await cluster.close()


def test_rates_follow_the_samples_own_times_not_when_they_are_added() -> None:
    """A sample's CPU time was read when it was taken: a late hand-over (a busy loop) must not
    show a pod using its request steadily as using more or less."""
    usage = UsageAggregator(interval=10.0, executor="c1")
    steady = 0.15  # cores, all the time
    added = [1.3, 2.05, 3.6, 4.01]  # when each sample reaches the aggregator
    for second, now in enumerate(added, 1):
        taken = replace(sample("r", cpu_seconds=steady * second, memory=MI), at=float(second))
        assert usage.add([taken], now) == []
    report = usage.flush("r")
    assert report is not None
    assert report.max_resources["cpu"] == report.avg_resources["cpu"] == 150

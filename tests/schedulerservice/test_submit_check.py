"""The submit check in the service: which nodes it judges against, and when it may reject.

A job is rejected only against the last known nodes of every executor not timed out, never
against no nodes at all, and not in the first ``executorTimeout`` after a start over an
existing log, while the executors known before it may still be reconnecting.
"""

from __future__ import annotations

from armada.config.auth import open_auth
from armada.schedulerservice.reports_service import SchedulerReportingServicer
from armada.schedulerservice.runtime import SchedulerRuntime
from armada.security import build_security
from tests.builders import requirements
from tests.schedulerservice.harness import SMALL, Harness, harness, leased, run_report

CPU_32 = requirements(resources={"cpu": 32_000})
CPU_128 = requirements(resources={"cpu": 128_000})

OPEN = build_security(open_auth())  # the servicer's checks let everyone in here


def validated_pools(h: Harness, job_id: str) -> tuple[str, ...]:
    job = h.storage.store.get_job(job_id)
    assert job is not None
    return job.validated_pools


def test_a_stale_executor_s_nodes_still_count_for_the_submit_check() -> None:
    h = harness()
    h.create_queue()
    h.heartbeat("cluster-big", nodes=1, cpu="64")
    h.heartbeat("cluster-small", nodes=2, cpu="4")
    h.advance(15)  # cluster-big is stale (10 s), not timed out (30 s)
    h.heartbeat("cluster-small", nodes=2, cpu="4")
    h.submit("j32", requirements=CPU_32)
    h.service.tick()
    assert h.state_of("j32") == "QUEUED"
    assert validated_pools(h, "j32") == ("default",)
    assert h.service.submit_check_pending("j32") is None
    h.heartbeat("cluster-big", nodes=1, cpu="64")  # back: the job runs there
    h.advance(1)
    h.service.tick()
    assert h.state_of("j32") == "LEASED"
    h.service.jobdb.validate()


def test_a_timed_out_executor_s_nodes_no_longer_count() -> None:
    h = harness()
    h.create_queue()
    h.heartbeat("cluster-big", nodes=1, cpu="64")
    h.advance(31)
    h.heartbeat("cluster-small", nodes=2, cpu="4")
    h.submit("j32", requirements=CPU_32)
    h.service.tick()  # forgets cluster-big, then checks
    assert h.state_of("j32") == "REJECTED"


def test_with_no_executor_at_all_a_job_waits_with_a_reason_and_is_never_rejected() -> None:
    h = harness()
    h.create_queue()
    h.submit("j1", requirements=SMALL)
    h.service.tick()
    h.advance(3600)
    h.service.tick()
    assert h.state_of("j1") == "QUEUED"
    assert "no executor has reported its nodes" in (h.service.submit_check_pending("j1") or "")
    h.heartbeat(nodes=1)
    h.service.tick()
    assert h.service.submit_check_pending("j1") is None
    assert validated_pools(h, "j1") == ("default",)


def test_after_a_restart_rejections_wait_for_the_executors_to_reconnect() -> None:
    h = harness()
    h.create_queue()
    h.heartbeat("cluster-big", nodes=1, cpu="64")
    h.heartbeat("cluster-small", nodes=2, cpu="4")
    h.submit("before", requirements=SMALL)
    h.service.tick()

    r = h.restart()
    r.advance(2)
    r.submit("j32", requirements=CPU_32)
    r.submit("j128", requirements=CPU_128)
    r.service.tick()  # no executor has reported yet
    assert r.state_of("j32") == r.state_of("j128") == "QUEUED"
    assert "no executor has reported" in (r.service.submit_check_pending("j32") or "")

    r.heartbeat("cluster-small", nodes=2, cpu="4")  # the first one back
    r.service.tick()
    assert r.state_of("j32") == r.state_of("j128") == "QUEUED", "nothing rejected yet"
    pending = r.service.submit_check_pending("j32") or ""
    assert "started recently" in pending and "more than any node can ever offer" in pending
    assert "rejected in 28s" in pending

    r.heartbeat("cluster-big", nodes=1, cpu="64")  # back too: j32 fits after all
    r.service.tick()
    assert validated_pools(r, "j32") == ("default",)
    assert r.state_of("j128") == "QUEUED"

    r.advance(29)  # executorTimeout (30 s) after the start: no one else is coming
    r.heartbeat("cluster-small", nodes=2, cpu="4")
    r.heartbeat("cluster-big", nodes=1, cpu="64")
    r.service.tick()
    assert r.state_of("j128") == "REJECTED"
    assert r.service.submit_check_pending("j128") is None
    r.service.jobdb.validate()


def test_the_job_report_says_why_the_submit_check_has_not_judged_a_job() -> None:
    h = harness()
    h.create_queue()
    h.submit("j1", requirements=SMALL)
    h.service.tick()
    runtime = SchedulerRuntime(h.service)
    try:
        report = SchedulerReportingServicer(runtime, OPEN)._job_report("j1")
    finally:
        runtime.close()
    assert report.startswith("Job j1 is QUEUED.\nSubmit check: no executor has reported")


def test_the_job_report_tells_where_and_when_each_run_went() -> None:
    h = leased("j1")
    job = h.service.jobdb.read().get("j1")
    assert job is not None and job.active_run is not None
    run_id = job.active_run.run_id
    runtime = SchedulerRuntime(h.service)
    try:
        servicer = SchedulerReportingServicer(runtime, OPEN)
        running = servicer._job_report("j1")
        h.service.handle_reports("cluster-1", [run_report("succeeded", job_id="j1", run_id=run_id)])
        finished = servicer._job_report("j1")
    finally:
        runtime.close()
    assert running.startswith("Job j1 is LEASED.")
    assert running.endswith(
        f"Runs:\n  run {run_id}: LEASED on node cluster-1-node-0 of executor cluster-1 "
        "(pool default), leased 2023-11-14T22:13:20Z"
    )
    assert finished.startswith("Job j1 is SUCCEEDED; the scheduler no longer considers it.")
    assert f"  run {run_id}: SUCCEEDED on node cluster-1-node-0" in finished
    assert ", ended 2023-11-14T22:13:20Z" in finished

"""The scheduler service: its duties on a store, in virtual time (no gRPC here)."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from armada.domain import events as ev
from armada.schedulerservice.lease_stream import plan_for_executor
from tests.builders import requirements
from tests.schedulerservice.harness import (
    SMALL,
    harness,
    leased,
    leases_in,
    many_leased,
    run_report,
)


def leases_of(h: object, executor: str = "cluster-1") -> list[str]:
    from armada.schedulerservice.service import SchedulerService

    service: SchedulerService = h.service  # type: ignore[attr-defined]
    state = service.executors.get(executor)
    assert state is not None
    plan = plan_for_executor(service, state, service.clock.now(), answer_request=True)
    return [lease.job_id for lease in leases_in(plan.messages)]


def test_a_round_leases_queued_jobs_and_the_lease_reaches_the_executor() -> None:
    h = harness()
    h.create_queue()
    h.heartbeat(nodes=2, cpu="4")
    h.submit("j1", "j2", "j3", requirements=SMALL)
    result = h.service.tick()
    assert result is not None and {lease.job_id for lease in result.leases} == {"j1", "j2", "j3"}
    assert [h.state_of(j) for j in ("j1", "j2", "j3")] == ["LEASED"] * 3
    sent = leases_of(h)
    assert sorted(sent) == ["j1", "j2", "j3"]
    assert leases_of(h) == [], "not sent again before leaseResendAfter"
    request = h.heartbeat(nodes=2, cpu="4")
    h.service.executors.heartbeat(request, h.service.monotonic(), stream=2)  # the stream broke
    assert sorted(leases_of(h)) == ["j1", "j2", "j3"], "resent at once on the new stream"
    assert leases_of(h) == []
    h.advance(6)
    assert sorted(leases_of(h)) == ["j1", "j2", "j3"], "resent: never acknowledged"


def test_the_pod_spec_in_a_lease_is_pinned_to_its_node() -> None:
    from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

    h = harness()
    h.create_queue()
    h.heartbeat(nodes=1)
    h.submit("j1", requirements=SMALL)
    h.service.tick()
    state = h.service.executors.get("cluster-1")
    assert state is not None
    plan = plan_for_executor(h.service, state, h.clock.now(), answer_request=True)
    assert plan.messages[0].HasField("leases"), "leases go in batches"
    (lease,) = leases_in(plan.messages)
    pod = core.PodSpec()
    pod.ParseFromString(lease.pod_spec)
    assert pod.nodeSelector["kubernetes.io/hostname"] == lease.node == "cluster-1-node-0"
    assert lease.annotations["armadaproject.io/pool"] == "default"
    assert plan.messages[-1].HasField("end")


def test_reports_move_the_job_to_succeeded() -> None:
    h = harness()
    h.create_queue()
    h.heartbeat(nodes=1)
    h.submit("j1", requirements=SMALL)
    h.service.tick()
    job = h.storage.store.get_job("j1")
    assert job is not None and job.active_run is not None
    run_id = job.active_run.run_id
    for kind in ("assigned", "running", "succeeded"):
        h.service.handle_reports(
            "cluster-1", [run_report(kind, job_id="j1", run_id=run_id, pod_name="armada-j1-0")]
        )
    assert h.state_of("j1") == "SUCCEEDED"
    # A repeated report (the executor retried) changes nothing and appends nothing.
    head = h.storage.log.head()
    h.service.handle_reports("cluster-1", [run_report("succeeded", job_id="j1", run_id=run_id)])
    assert h.storage.log.head() == head


def test_a_returned_lease_is_retried_elsewhere_then_fails_after_max_retries() -> None:
    h = harness(max_retries=1)
    h.create_queue()
    h.heartbeat(nodes=2, cpu="1")
    h.submit("j1", requirements=SMALL)
    h.service.tick()
    first = h.storage.store.get_job("j1")
    assert first is not None and first.active_run is not None
    h.service.handle_reports(
        "cluster-1",
        [
            run_report(
                "lease_returned", job_id="j1", run_id=first.active_run.run_id, reason="no image"
            )
        ],
    )
    requeued = h.storage.store.get_job("j1")
    assert requeued is not None and requeued.state.value == "QUEUED"
    assert requeued.avoid_nodes == (first.active_run.node,)
    h.advance(1.5)
    h.service.tick()
    second = h.storage.store.get_job("j1")
    assert second is not None and second.active_run is not None
    assert second.active_run.node != first.active_run.node, "anti-affinity to the tried node"
    h.service.handle_reports(
        "cluster-1",
        [run_report("lease_returned", job_id="j1", run_id=second.active_run.run_id)],
    )
    final = h.storage.store.get_job("j1")
    assert final is not None and final.state.value == "FAILED"
    assert "maxRetries is 1" in final.error


def test_a_silent_executor_loses_its_leases_and_the_jobs_go_elsewhere() -> None:
    h = leased("j1")
    assert h.storage.store.get_job("j1").active_run.executor == "cluster-1"  # type: ignore[union-attr]
    h.advance(31)
    h.heartbeat("cluster-2", nodes=1)
    h.service.tick()  # expires cluster-1, requeues j1, and the round leases it on cluster-2
    job = h.storage.store.get_job("j1")
    assert job is not None and job.active_run is not None
    assert job.active_run.executor == "cluster-2"
    assert [r.state.value for r in job.runs] == ["LEASE_EXPIRED", "LEASED"]


def test_runs_the_executor_must_stop_are_cancelled_or_preempted() -> None:
    h = harness()
    h.create_queue()
    h.heartbeat(nodes=1, cpu="8")
    h.submit("j1", "j2", "j3", requirements=SMALL)
    h.service.tick()
    runs = {j: h.storage.store.get_job(j).active_run.run_id for j in ("j1", "j2", "j3")}  # type: ignore[union-attr]
    # j1 is cancelled by a user; j2's preemption is requested by a user.
    h.user_events(ev.CancelledJob(job_id="j1"), ev.JobPreemptionRequested(job_id="j2"))
    h.service.tick()
    assert h.state_of("j2") == "PREEMPTED"
    h.heartbeat(nodes=1, cpu="8", active=list(runs.values()))
    state = h.service.executors.get("cluster-1")
    assert state is not None
    plan = plan_for_executor(h.service, state, h.clock.now(), answer_request=True)
    kinds = {m.WhichOneof("event"): m for m in plan.messages}
    assert list(kinds["cancel_runs"].cancel_runs.run_ids) == [runs["j1"]]
    assert list(kinds["preempt_runs"].preempt_runs.run_ids) == [runs["j2"]]
    assert not leases_in(plan.messages), "acknowledged runs are not sent again"


def test_a_job_that_can_never_fit_is_rejected_with_a_reason() -> None:
    h = harness()
    h.create_queue()
    h.heartbeat(nodes=2, cpu="4")
    h.submit("big", requirements=requirements(resources={"cpu": 64_000}))
    h.submit("ok", requirements=SMALL)
    h.service.tick()
    big = h.storage.store.get_job("big")
    assert big is not None and big.state.value == "REJECTED"
    assert "cpu" in big.error
    assert h.state_of("ok") == "LEASED"


def test_a_failing_gang_member_fails_the_gang() -> None:
    from armada.domain.jobs import Gang

    h = harness()
    h.create_queue()
    h.heartbeat(nodes=3, cpu="2")
    gang = Gang(id="g1", cardinality=3)
    h.submit("g-a", "g-b", "g-c", requirements=SMALL, gang=gang, fail_fast=True)
    h.service.tick()
    assert [h.state_of(j) for j in ("g-a", "g-b", "g-c")] == ["LEASED"] * 3
    run = h.storage.store.get_job("g-a").active_run  # type: ignore[union-attr]
    failure = ev.FailureInfo(reason="exit 1", exit_codes={"main": 1})
    h.service.handle_reports(
        "cluster-1",
        [
            run_report(
                "failed",
                job_id="g-a",
                run_id=run.run_id,  # type: ignore[union-attr]
                failure=failure,
            )
        ],
    )
    h.service.tick()
    assert [h.state_of(j) for j in ("g-a", "g-b", "g-c")] == ["FAILED"] * 3
    assert "gang g1: member g-a failed" in h.storage.store.get_job("g-b").error  # type: ignore[union-attr]


def test_a_lost_run_is_given_back_after_the_grace_period() -> None:
    h = harness()
    h.create_queue()
    h.heartbeat(nodes=1)
    h.submit("j1", requirements=SMALL)
    h.service.tick()
    run_id = h.storage.store.get_job("j1").active_run.run_id  # type: ignore[union-attr]
    h.heartbeat(nodes=1, active=[run_id])  # acknowledged
    state = h.service.executors.get("cluster-1")
    assert state is not None
    h.heartbeat(nodes=1, active=[])  # and then it is gone
    assert not plan_for_executor(h.service, state, h.clock.now(), answer_request=True).lost_runs
    h.advance(21)
    plan = plan_for_executor(h.service, state, h.clock.now(), answer_request=True)
    assert [r.run_id for r in plan.lost_runs] == [run_id]


def test_a_restarted_scheduler_never_resends_a_run_its_executor_reported_started() -> None:
    """Both restarted (``armada dev`` killed): the executor has no record of the running run.
    Sending its lease again would start it a second time; it is given back as lost instead."""
    h = leased("j1", "j2")
    snap = h.service.jobdb.read()
    started, waiting = (snap[j].active_run.run_id for j in ("j1", "j2"))  # type: ignore[union-attr]
    h.heartbeat(nodes=1, active=[started, waiting])
    where = {"pod_name": "armada-j1-0", "namespace": "default", "node": "cluster-1-node-0"}
    h.service.handle_reports(
        "cluster-1",
        [
            run_report("assigned", job_id="j1", run_id=started, **where),
            run_report("running", job_id="j1", run_id=started, **where),
        ],
    )
    h = h.restart()
    h.heartbeat(nodes=1, active=[])
    assert leases_of(h) == ["j2"], "only the run never reported started is sent again"
    h.advance(21)
    state = h.service.executors.get("cluster-1")
    assert state is not None
    plan = plan_for_executor(h.service, state, h.clock.now(), answer_request=True)
    assert [(r.run_id, type(r), r.run_attempted) for r in plan.lost_runs] == [
        (started, ev.JobRunLeaseReturned, True)
    ]
    h.service.handle_reports("cluster-1", plan.lost_runs)
    h.service.ingest()
    job = h.storage.store.get_job("j1")
    assert job is not None and job.state.value == "QUEUED", "tried again, as a new run"
    assert [r.state.value for r in job.runs] == ["LEASE_RETURNED"]


def test_a_fresh_scheduler_replaying_the_log_decides_the_same() -> None:
    """Replay: the log alone determines the scheduler's state and its next decisions."""
    from armada.domain.clock import SequentialIds
    from armada.schedulerservice.service import SchedulerService

    h = harness()
    h.create_queue("queue-a")
    h.create_queue("queue-b", factor=2.0)
    h.heartbeat(nodes=3, cpu="4")
    for i in range(12):
        h.submit(f"a{i}", requirements=SMALL, queue="queue-a")
        h.submit(f"b{i}", requirements=SMALL, queue="queue-b")
    h.service.tick()
    run = h.storage.store.get_job("a0").active_run  # type: ignore[union-attr]
    h.service.handle_reports(
        "cluster-1",
        [
            run_report(
                "succeeded",
                job_id="a0",
                run_id=run.run_id,  # type: ignore[union-attr]
            )
        ],
    )
    h.submit("late", requirements=SMALL, queue="queue-b")
    fresh = SchedulerService(
        h.storage, h.service.config, h.clock, SequentialIds("x"), monotonic=h.monotonic
    )
    fresh.ingest()
    h.service.ingest()
    original = {j.job_id: j for j in h.service.jobdb.read().jobs()}
    replayed = {j.job_id: j for j in fresh.jobdb.read().jobs()}
    assert replayed == original
    request = h.heartbeat(nodes=3, cpu="4")
    fresh.executors.heartbeat(request, fresh.monotonic())
    fresh.state.rate_limits = h.service.state.rate_limits
    h.advance(2)
    ours, theirs = h.service.schedule_round(), fresh.schedule_round()
    strip = lambda r: msgspec.structs.replace(r, pools=())  # noqa: E731 - timings differ
    assert strip(ours).leases == strip(theirs).leases
    assert strip(ours).job_reasons == strip(theirs).job_reasons


def test_a_replay_longer_than_one_read_sees_each_entry_against_the_state_before_it() -> None:
    """A restart replays many reads' worth of log in one transaction; a gang member's failure
    read late must still find the member submitted early, and every job gets checked."""
    from armada.domain.clock import SequentialIds
    from armada.domain.jobs import Gang
    from armada.schedulerservice.service import INGEST_BATCH, SchedulerService

    h = harness()
    h.create_queue()
    h.heartbeat(nodes=3, cpu="2")
    h.submit("g-a", "g-b", "g-c", requirements=SMALL, gang=Gang(id="g1", cardinality=3))
    h.service.tick()
    for i in range(INGEST_BATCH + 5):
        h.submit(f"filler-{i}", requirements=requirements(resources={"cpu": 64000}))
    run = h.storage.store.get_job("g-a").active_run  # type: ignore[union-attr]
    failure = ev.FailureInfo(reason="exit 1")
    report = run_report("failed", job_id="g-a", run_id=run.run_id, failure=failure)  # type: ignore[union-attr]
    h.service.handle_reports("cluster-1", [report])
    fresh = SchedulerService(
        h.storage, h.service.config, h.clock, SequentialIds("x"), monotonic=h.monotonic
    )
    before = fresh.jobdb.read().version
    assert fresh.ingest() == h.storage.log.head()
    assert fresh.jobdb.read().version == before + 1  # one transaction for the whole replay
    assert fresh.ingest() == h.storage.log.head() and fresh.jobdb.read().version == before + 1
    h.service.ingest()
    original = {j.job_id: j for j in h.service.jobdb.read().jobs()}
    assert {j.job_id: j for j in fresh.jobdb.read().jobs()} == original
    fresh.executors.heartbeat(h.heartbeat(nodes=3, cpu="2"), fresh.monotonic())
    fresh.tick()
    assert [h.state_of(j) for j in ("g-a", "g-b", "g-c")] == ["FAILED"] * 3
    assert h.state_of("filler-0") == "QUEUED"  # checked, but executors may still reconnect
    h.advance(31)
    fresh.executors.heartbeat(h.heartbeat(nodes=3, cpu="2"), fresh.monotonic())
    fresh.tick()
    assert h.state_of("filler-0") == "REJECTED"  # no node has 64 CPUs
    fresh.jobdb.validate()


def test_leases_are_batched_by_count_and_by_size() -> None:
    from armada.rpc.gen import executorapi_pb2 as pb
    from armada.schedulerservice.lease_stream import LeaseBatcher

    messages: list[pb.LeaseStreamMessage] = []
    batcher = LeaseBatcher(messages)
    for i in range(LeaseBatcher.MAX_LEASES + 1):
        batcher.add(pb.JobRunLease(run_id=f"r{i}", pod_spec=b"x" * 100))
    assert [len(m.leases.leases) for m in messages] == [LeaseBatcher.MAX_LEASES, 1]

    messages.clear()
    batcher = LeaseBatcher(messages)
    big = LeaseBatcher.MAX_BYTES // 3
    for i in range(4):
        batcher.add(pb.JobRunLease(run_id=f"big{i}", pod_spec=b"x" * big))
    assert [len(m.leases.leases) for m in messages] == [2, 2], "about 1 MiB a message"
    assert all(m.ByteSize() <= LeaseBatcher.MAX_BYTES + 100 for m in messages)
    assert [lease.run_id for lease in leases_in(messages)] == [f"big{i}" for i in range(4)]


def test_a_run_ending_while_jobs_wait_brings_the_next_round_forward() -> None:
    """With scheduleNewJobsAfter set, room freed by an ending run is used that soon after, not
    only at the next schedulePeriod; with no job waiting, an ending run brings nothing on."""
    h = harness(
        schedule_period=timedelta(seconds=10), schedule_new_jobs_after=timedelta(seconds=0.1)
    )
    h.create_queue()
    h.heartbeat(nodes=1, cpu="1")  # room for one SMALL job at a time
    h.submit("j1", "j2", "j3", requirements=SMALL)
    h.advance(0.2)
    assert h.service.tick() is not None, "new jobs: a round soon"
    assert [h.state_of(j) for j in ("j1", "j2", "j3")] == ["LEASED", "QUEUED", "QUEUED"]
    h.advance(0.2)
    assert h.service.tick() is None, "nothing changed: wait for the period"

    def finish(job_id: str) -> None:
        job = h.service.jobdb.read().get(job_id)
        assert job is not None and job.active_run is not None
        run_id = job.active_run.run_id
        h.service.handle_reports(
            "cluster-1", [run_report("succeeded", job_id=job_id, run_id=run_id)]
        )

    finish("j1")
    h.heartbeat(nodes=1, cpu="1")
    assert h.service.tick() is not None, "room came back while jobs wait: a round at once"
    assert [h.state_of(j) for j in ("j1", "j2", "j3")] == ["SUCCEEDED", "LEASED", "QUEUED"]

    finish("j2")
    h.heartbeat(nodes=1, cpu="1")
    h.advance(0.2)
    h.service.tick()
    assert h.state_of("j3") == "LEASED"
    finish("j3")
    h.advance(0.2)
    assert h.service.tick() is None, "a run ended but no job waits"


def test_the_executor_state_forgets_finished_runs() -> None:
    """What was sent and acknowledged is kept only for active runs: otherwise it grows by every
    run an executor ever held."""
    h, state, runs = many_leased(300)
    ids = list(runs)
    plan_for_executor(h.service, state, h.clock.now(), answer_request=True)
    h.heartbeat(nodes=1, cpu="64", active=list(runs.values()))
    plan_for_executor(h.service, state, h.clock.now(), answer_request=True)
    assert state.acknowledged == set(runs.values()) and len(state.sent) == len(ids)

    done = [run_report("succeeded", job_id=j, run_id=r) for j, r in runs.items()]
    h.service.handle_reports("cluster-1", done)
    h.heartbeat(nodes=1, cpu="64", active=[])  # the executor delivered them and let them go
    plan_for_executor(h.service, state, h.clock.now(), answer_request=True)
    assert state.acknowledged == set() and state.sent == {}


def test_runs_found_missing_that_end_before_the_grace_are_forgotten() -> None:
    """A run the executor stops listing is given back after missingRunGrace; one that ends
    before then (here: its job is cancelled) must not stay in ``missing_since`` for ever."""
    h, state, runs = many_leased(200, missing_run_grace=timedelta(seconds=30))
    ids = list(runs)
    h.heartbeat(nodes=1, cpu="64", active=list(runs.values()))
    plan_for_executor(h.service, state, h.clock.now(), answer_request=True)
    h.heartbeat(nodes=1, cpu="64", active=[])  # the pods went away
    plan = plan_for_executor(h.service, state, h.clock.now(), answer_request=True)
    assert not plan.lost_runs and len(state.missing_since) == len(ids), "within the grace"

    h.user_events(*(ev.CancelledJob(job_id=j) for j in ids))
    h.service.ingest()
    h.advance(60)
    h.heartbeat(nodes=1, cpu="64", active=[])
    plan = plan_for_executor(h.service, state, h.clock.now(), answer_request=True)
    assert not plan.lost_runs, "cancelled runs are not given back"
    assert state.missing_since == {}


def test_usage_reports_become_utilisation_events_that_move_no_state() -> None:
    """Issue 14.6: a run's usage reaches the log as JobRunUtilisation; the job's state is not
    touched, a late report (the run's last period) is kept, and another executor's word on
    the run counts for nothing."""
    h = leased("j1")
    run = h.service.jobdb.read()["j1"].active_run
    assert run is not None
    run_id = run.run_id

    def report(kind: str, executor: str = "cluster-1") -> int:
        usage = run_report(
            kind,
            job_id="j1",
            run_id=run_id,
            max_resources={"cpu": 900, "memory": 2**26 * 1000},
            avg_resources={"cpu": 400, "memory": 2**25 * 1000},
            cumulative={"cpu": 12_000},
        )
        return h.service.handle_reports(executor, [usage])

    for kind in ("assigned", "running"):
        report(kind)
    assert report("utilisation") == 1
    assert h.state_of("j1") == "RUNNING"
    report("succeeded")
    assert report("utilisation") == 1, "the last period, reported as the run ended"
    assert report("utilisation", executor="cluster-2") == 0
    assert h.state_of("j1") == "SUCCEEDED"
    usage = [
        e
        for entry in h.storage.log.read(0, 1000)
        for e in entry.sequence.events
        if isinstance(e, ev.JobRunUtilisation)
    ]
    assert len(usage) == 2
    assert (usage[0].executor, usage[0].run_id, usage[0].max_resources["cpu"]) == (
        "cluster-1",
        run_id,
        900,
    )

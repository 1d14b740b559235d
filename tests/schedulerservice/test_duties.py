"""The duties are functions of the state and one stimulus: they return what to do, and the
shell does it (appends, then reads the log back; forgets executors; wakes lease streams)."""

from __future__ import annotations

from armada.domain import events as ev
from armada.schedulerservice import duties
from armada.schedulerservice.duties import Append, ForgetExecutor, WakeLeaseStreams
from tests.schedulerservice.harness import SMALL, harness, leased, run_report


def test_lease_expiry_is_decided_without_io_and_carried_out_in_order() -> None:
    h = leased("j1")
    run = h.service.jobdb.read()["j1"].active_run
    assert run is not None
    h.advance(31)  # past executorTimeout
    head = h.storage.log.head()
    state = h.service.state
    out = duties.expire_silent_executors(state, h.monotonic(), 30.0, h.service.rules)
    assert [type(i) for i in out] == [Append, ForgetExecutor]
    append, forget = out
    assert isinstance(append, Append) and isinstance(forget, ForgetExecutor)
    assert append.cause == "scheduler/lease-expiry/cluster-1"
    assert [type(e) for _, e in append.events] == [ev.JobRunLeaseExpired, ev.JobRequeued]
    assert forget.executor_id == "cluster-1"
    assert h.storage.log.head() == head, "a duty appends nothing itself"
    assert state.executors.get("cluster-1") is not None, "nor forgets"
    h.service.tick()  # the shell carries the same decision out
    assert h.state_of("j1") == "QUEUED"
    assert state.executors.get("cluster-1") is None


def test_reports_and_rounds_say_what_to_append_and_whom_to_wake() -> None:
    h = harness()
    h.create_queue()
    h.heartbeat(nodes=1)
    h.submit("j1", requirements=SMALL)
    h.service.ingest()
    result, out = duties.schedule_round(
        h.service.state,
        duties.RoundInputs(
            nodes=h.service.live_nodes(),
            queues=h.storage.store.list_queues(),
            cordoned_executors=frozenset(),
            now=h.clock.now(),
            monotonic=h.monotonic,
            ids=h.service.ids,
        ),
        h.service.config.scheduling,
    )
    assert [lease.job_id for lease in result.leases] == ["j1"]
    assert [type(i) for i in out] == [Append, WakeLeaseStreams]
    assert h.state_of("j1") == "QUEUED", "nothing is in the log until the shell appends it"
    h.service.tick()  # a round of its own (the one above was never carried out)
    run = h.service.jobdb.read()["j1"].active_run
    assert run is not None
    report = run_report("succeeded", job_id="j1", run_id=run.run_id)
    (append,) = duties.handle_reports(
        h.service.state,
        "cluster-1",
        [report],
        rules=h.service.rules,
        now=h.clock.now(),
        stored_job=h.storage.store.get_job,
    )
    assert isinstance(append, Append) and append.who == "cluster-1"
    assert [type(e) for _, e in append.events] == [ev.JobRunSucceeded, ev.JobSucceeded]
    assert h.state_of("j1") == "LEASED"

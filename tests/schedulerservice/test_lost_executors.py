"""Runs on executors the scheduler no longer hears from, or on nodes they no longer report.

Runs are found by executor in the job database, not through the nodes of the executor's last
heartbeat; after a start, executors holding runs are known again, as if heard from then.
"""

from __future__ import annotations

from armada.domain import events as ev
from armada.domain.lifecycle import JobRecord
from armada.rpc.gen import executorapi_pb2 as pb
from armada.schedulerservice.executors import ExecutorRegistry
from armada.schedulerservice.lease_stream import StreamPlan, plan_for_executor
from tests.schedulerservice.harness import Harness, leased


def job(h: Harness, job_id: str) -> JobRecord:
    found = h.storage.store.get_job(job_id)
    assert found is not None
    return found


def run_id(h: Harness, job_id: str) -> str:
    run = job(h, job_id).active_run
    assert run is not None
    return run.run_id


def plan(h: Harness, executor: str = "cluster-1") -> StreamPlan:
    state = h.service.executors.get(executor)
    assert state is not None
    return plan_for_executor(h.service, state, h.clock.now(), answer_request=True)


def test_after_a_restart_an_executor_that_never_returns_loses_its_leases() -> None:
    h = leased("j1")

    r = h.restart()
    r.service.tick()
    r.advance(29)
    r.service.tick()
    assert r.state_of("j1") == "LEASED", "executorTimeout (30 s) has not passed since the start"
    r.advance(3600 - 29)
    r.service.tick()
    assert [run.state.value for run in job(r, "j1").runs] == ["LEASE_EXPIRED"]
    assert r.state_of("j1") == "QUEUED"
    assert r.service.executors.get("cluster-1") is None
    r.service.jobdb.validate()


def test_after_a_restart_an_executor_that_returns_keeps_its_runs() -> None:
    h = leased("j1")
    running = run_id(h, "j1")

    r = h.restart()
    r.advance(20)
    r.heartbeat("cluster-1", nodes=1, active=[running])
    r.advance(20)
    r.service.tick()
    assert r.state_of("j1") == "LEASED" and run_id(r, "j1") == running
    assert plan(r).lost_runs == []


def test_a_silent_executor_loses_runs_on_nodes_it_had_stopped_reporting() -> None:
    h = leased("j1", "j2", nodes=2, cpu="1")
    assert {job(h, j).active_run.node for j in ("j1", "j2")} == {  # type: ignore[union-attr]
        "cluster-1-node-0",
        "cluster-1-node-1",
    }
    h.heartbeat(nodes=1, cpu="1")  # node-1 is gone from its report
    h.advance(31)
    h.service.tick()
    for j in ("j1", "j2"):
        assert [run.state.value for run in job(h, j).runs] == ["LEASE_EXPIRED"], j


def test_a_run_the_executor_still_lists_is_kept_even_if_its_node_is_not_reported() -> None:
    """The pod is there: a short node list (the cluster's API misbehaving) loses nothing."""
    h = leased("j1", "j2", nodes=2, cpu="1")
    runs = {j: run_id(h, j) for j in ("j1", "j2")}
    h.heartbeat(nodes=2, cpu="1", active=list(runs.values()))  # both acknowledged
    h.heartbeat(nodes=1, cpu="1", active=list(runs.values()))  # node-1 missing from the list
    assert plan(h).lost_runs == []
    h.advance(21)  # missingRunGrace is 20 s
    h.heartbeat(nodes=1, cpu="1", active=list(runs.values()))
    answer = plan(h)
    assert answer.lost_runs == []
    assert not [m for m in answer.messages if m.HasField("cancel_runs")], "not a stray"
    assert {j: job(h, j).state.value for j in runs} == {"j1": "LEASED", "j2": "LEASED"}


def test_an_unacknowledged_run_on_a_vanished_node_is_given_back_after_the_grace() -> None:
    h = leased("j1", "j2", nodes=2, cpu="1")
    runs = {j: run_id(h, j) for j in ("j1", "j2")}
    on_node_1 = next(j for j in runs if job(h, j).active_run.node == "cluster-1-node-1")  # type: ignore[union-attr]
    h.heartbeat(nodes=1, cpu="1")  # node-1 vanished before the leases were acted on
    assert plan(h).lost_runs == []
    h.advance(21)  # missingRunGrace is 20 s
    h.heartbeat(nodes=1, cpu="1")
    lost = plan(h).lost_runs
    assert [(r.job_id, type(r), r.run_attempted) for r in lost] == [
        (on_node_1, ev.JobRunLeaseReturned, False)
    ]
    assert "node cluster-1-node-1 is no longer reported" in lost[0].reason

    h.service.handle_reports("cluster-1", lost)
    returned = job(h, on_node_1)
    assert returned.state.value == "QUEUED" and returned.avoid_nodes == ("cluster-1-node-1",)
    assert [run.state.value for run in returned.runs] == ["LEASE_RETURNED"]
    h.service.jobdb.validate()


def test_no_run_is_given_back_while_the_executor_reports_no_nodes_at_all() -> None:
    """An executor that cannot list its nodes sends none: that says nothing about its runs."""
    h = leased("j1", "j2", nodes=2, cpu="1")
    h.heartbeat(nodes=0, cpu="1")
    h.advance(21)
    h.heartbeat(nodes=0, cpu="1")
    assert plan(h).lost_runs == []


def test_a_wall_clock_jump_is_not_an_executors_silence() -> None:
    """Issue 14.2: a laptop's suspend or a stepped wall clock made every executor of a quiet
    `armada dev` look silent for over executorTimeout at the next tick. Silence is measured on
    the monotonic clock."""
    h = leased("j1")
    h.clock.advance(3600)  # the wall clock jumps an hour; no time passed for the process
    h.service.tick()
    assert h.state_of("j1") == "LEASED"
    assert h.service.live_nodes(), "nor does the executor go stale"
    h.monotonic.now += 31  # now it really is silent for over executorTimeout (30 s)
    h.service.tick()
    assert [run.state.value for run in job(h, "j1").runs] == ["LEASE_EXPIRED"]


def test_time_the_loop_was_held_is_not_counted_as_silence() -> None:
    """Issue 14.2: a blocking call on the loop that receives LeaseRequests silences every
    executor at once. The loop's watch reports how long it was held; silence is counted
    without it, and nothing is judged while the loop has not been seen for a second."""
    registry = ExecutorRegistry()
    request = pb.LeaseRequest(executor_id="c1", pool="default")
    request.nodes.add(name="n1", total_resources={"cpu": "4"})
    registry.heartbeat(request, now=0.0)
    registry.loop_seen(0.0)
    assert registry.timed_out(now=3.0, timeout=2.0) == [], "the loop, not c1, went quiet"
    registry.loop_seen(3.0, held_for=2.9)
    assert registry.timed_out(now=3.0, timeout=2.0) == []
    registry.loop_seen(5.0)
    assert [s.executor_id for s in registry.timed_out(now=5.0, timeout=2.0)] == ["c1"]
    assert [n.name for n in registry.live_nodes(now=5.0, within=2.5)] == ["n1"]  # 2.1 s
    assert registry.live_nodes(now=5.0, within=2.0) == []
    registry.heartbeat(pb.LeaseRequest(executor_id="c1", pool="default"), now=5.5)
    assert registry.timed_out(now=5.5, timeout=2.0) == []

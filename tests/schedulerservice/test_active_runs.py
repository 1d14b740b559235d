"""The active runs the scheduler keeps by executor (for the lease stream and lease expiry) are
always exactly those of its job database, whatever happens: rounds, executors' reports, lost
runs, cancellations, preemptions, expired executors, restarts."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from armada.domain import events as ev
from armada.schedulerservice.lease_stream import plan_for_executor
from tests.schedulerservice.harness import SMALL, Harness, harness, run_report

EXECUTORS = ("cluster-1", "cluster-2")
KINDS = ("assigned", "running", "succeeded", "failed", "lease_returned")

_request = st.tuples(
    st.just("request"),  # a LeaseRequest: nodes, listing all its runs, none or all but one
    st.sampled_from(EXECUTORS),
    st.integers(0, 2),
    st.sampled_from(("all", "none", "all but one")),
    st.sampled_from((0, 6)),
)
_OPS = {
    "submit": st.tuples(st.just("submit"), st.integers(1, 6)),
    "request": _request,
    "round": st.tuples(st.just("round")),
    "report": st.tuples(
        st.just("report"), st.integers(0, 50), st.sampled_from(KINDS), st.booleans()
    ),
    "cancel": st.tuples(st.just("cancel"), st.integers(0, 50)),
    "preempt": st.tuples(st.just("preempt"), st.integers(0, 50)),
    "expire": st.tuples(st.just("expire")),
    "restart": st.tuples(st.just("restart")),
}
# Requests most often: a loss takes several in a row (acknowledged, then missing for a while).
_WEIGHTS = {"request": 8, "round": 2, "submit": 2, "report": 2}
_op = st.sampled_from([k for k in _OPS for _ in range(_WEIGHTS.get(k, 1))]).flatmap(_OPS.get)


def _runs(h: Harness) -> list[tuple[str, str, str]]:
    """(executor, run id, job id) of every active run, in a stable order."""
    service = h.service
    return sorted(
        (executor, run_id, job_id)
        for executor in EXECUTORS
        for run_id, job_id in service.runs_on_executor(executor).items()
    )


def _step(h: Harness, op: tuple[object, ...], count: list[int]) -> Harness:
    kind = op[0]
    if kind == "submit":
        ids = [f"j{count[0] + i}" for i in range(int(op[1]))]  # type: ignore[call-overload]
        count[0] += len(ids)
        h.submit(*ids, requirements=SMALL)
    elif kind == "request":  # answered as the executor API does, its lost runs given back
        executor, nodes, listing, wait = op[1:]
        h.advance(int(wait))  # type: ignore[call-overload]
        h.service.ingest()
        active = [r for e, r, _ in _runs(h) if e == executor]
        active = {"all": active, "none": [], "all but one": active[1:]}[str(listing)]
        request = h.heartbeat(str(executor), nodes=int(nodes), active=active)  # type: ignore[call-overload]
        state = h.service.executors.get(request.executor_id)
        assert state is not None
        plan = plan_for_executor(h.service, state, h.clock.now(), answer_request=True)
        if plan.lost_runs:
            h.service.handle_reports(state.executor_id, plan.lost_runs)
    elif kind == "round":
        h.advance(1)
        h.service.tick()
    elif kind == "report":
        runs = _runs(h)
        if runs:
            executor, run_id, job_id = runs[int(op[1]) % len(runs)]  # type: ignore[call-overload]
            if op[3]:  # an executor's word on another executor's run counts for nothing
                executor = next(e for e in EXECUTORS if e != executor)
            report = run_report(str(op[2]), job_id=job_id, run_id=run_id, reason="test")
            h.service.handle_reports(executor, [report])
    elif kind in ("cancel", "preempt"):
        if h.submitted:
            job_id = h.submitted[int(op[1]) % len(h.submitted)]  # type: ignore[call-overload]
            event: ev.Event = (
                ev.CancelledJob(job_id=job_id)
                if kind == "cancel"
                else ev.JobPreemptionRequested(job_id=job_id)
            )
            h.user_events(event)
            h.service.tick()
    elif kind == "expire":
        h.advance(31)  # past executorTimeout: silent executors lose their leases
        h.service.tick()
    elif kind == "restart":
        h = h.restart()
    return h


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_op, min_size=10, max_size=60))
def test_the_active_runs_by_executor_always_equal_the_job_database(
    ops: list[tuple[object, ...]],
) -> None:
    h = harness(missing_run_grace=timedelta(seconds=5))
    h.create_queue()
    count = [0]
    for start in (("request", "cluster-1", 2, "none", 0), ("request", "cluster-2", 1, "none", 0)):
        h = _step(h, start, count)
    h = _step(h, ("submit", 6), count)
    h.service.tick()  # the submit check
    h = _step(h, ("round",), count)  # some runs to begin with
    for op in ops:
        h = _step(h, op, count)
        h.service.validate()
    # and a restart, which builds them afresh, finds the same
    assert _runs(h.restart()) == _runs(h)


def test_the_active_runs_follow_a_lease_and_its_end() -> None:
    h = harness()
    h.create_queue()
    h.heartbeat("cluster-1")
    h.submit("j1", requirements=SMALL)
    h.service.tick()
    runs = dict(h.service.runs_on_executor("cluster-1"))
    assert list(runs.values()) == ["j1"]
    (run_id,) = runs
    h.service.handle_reports("cluster-1", [run_report("succeeded", job_id="j1", run_id=run_id)])
    assert not h.service.runs_on_executor("cluster-1")
    h.service.validate()

"""The executor's run stages: moves outside the tables raise, and a tracker's invariants are
checked (every executor test checks them again at its end, see conftest)."""

from __future__ import annotations

import itertools

import pytest

from armada.domain.states import InvalidTransition
from armada.executor.run_stages import STAGE_TRANSITIONS, STOP_TRANSITIONS, Stage, Stop, TrackedRun
from armada.executor.runs import RunTracker
from tests.executor.conftest import fast_settings
from tests.executor.test_runs import lease, pod, started


def record(stage: Stage, stop: Stop | None = None) -> TrackedRun:
    return TrackedRun(
        run_id="r1",
        job_id="j1",
        namespace="default",
        pod_name="p",
        stage=stage,
        since=0.0,
        stop=stop,
    )


@pytest.mark.parametrize(("old", "new"), list(itertools.product(Stage, Stage)))
def test_a_stage_moves_only_along_the_table(old: Stage, new: Stage) -> None:
    run = record(old)
    if (old, new) in STAGE_TRANSITIONS:
        run.move(new, 5.0)
        assert (run.stage, run.since) == (new, 5.0)
    else:
        with pytest.raises(InvalidTransition, match=f"run r1: {old.name} -> {new.name}"):
            run.move(new, 5.0)
        assert run.stage is old


def test_a_stop_moves_only_along_the_table_and_only_where_a_pod_may_be() -> None:
    with pytest.raises(InvalidTransition, match="stop None -> CANCEL in stage LEASED"):
        record(Stage.LEASED).stop_for(Stop.CANCEL, "cancelled")
    with pytest.raises(InvalidTransition, match="stop CANCEL -> RETURN"):
        record(Stage.SEEN, Stop.CANCEL).stop_for(Stop.RETURN, "why")
    with pytest.raises(InvalidTransition, match="stop FAIL -> CANCEL"):
        record(Stage.ENDED, Stop.FAIL).stop_for(Stop.CANCEL, "cancelled")
    with pytest.raises(InvalidTransition, match="stop None -> CLEANUP in stage SEEN"):
        record(Stage.SEEN).stop_for(Stop.CLEANUP)
    run = record(Stage.SEEN)
    run.stop_for(Stop.RETURN, "stuck")
    run.stop_for(Stop.PREEMPT, "preempted")
    assert (run.stop, run.stop_reason) == (Stop.PREEMPT, "preempted")
    assert (Stop.RETURN, Stop.PREEMPT) in STOP_TRANSITIONS


def test_a_tracker_refuses_a_move_its_table_does_not_have() -> None:
    """A stimulus that would move a run backwards raises instead of corrupting the record."""
    t = RunTracker(fast_settings())
    started(t)
    t.pod_seen(pod(), 1.0)
    run = t.get("run-j1")
    assert run is not None and run.stage is Stage.SEEN
    with pytest.raises(InvalidTransition, match="SEEN -> SUBMITTING"):
        run.move(Stage.SUBMITTING, 2.0)
    t.validate()


def test_validate_finds_a_record_out_of_step_with_the_indexes() -> None:
    t = RunTracker(fast_settings())
    t.lease(lease("j1"), 0.0)
    t.lease(lease("j2"), 0.0)
    t.validate()
    run = t.get("run-j2")
    assert run is not None
    run.stage = Stage.SUBMITTED  # moved behind the table's back: still queued, and no plan
    with pytest.raises(AssertionError, match="run-j2: SUBMITTED without a plan"):
        t.validate()
    run.stage = Stage.LEASED
    run.final_delivered = True
    with pytest.raises(AssertionError, match="run-j2: final event delivered before the end"):
        t.validate()
    run.final_delivered = False
    t.validate()


def test_every_tracker_a_test_makes_is_validated_at_the_end(
    _validate_trackers: list[RunTracker],
) -> None:
    t = RunTracker(fast_settings())
    assert _validate_trackers == [t]

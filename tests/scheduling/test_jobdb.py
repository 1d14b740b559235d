"""The scheduler's job database: lifecycle applied, indexes kept, snapshots frozen."""

from __future__ import annotations

import pytest

from armada.config.scheduling import SchedulingSettings
from armada.domain import events as ev
from armada.domain.jobs import Gang
from armada.domain.states import JobState
from armada.scheduling import JobDb
from tests.builders import job_spec, requirements, sequence


def db() -> JobDb:
    return JobDb(SchedulingSettings().domain_priority_classes())


def submit(job_id: str, **overrides: object) -> ev.SubmitJob:
    return ev.SubmitJob(spec=job_spec(job_id, labels={"big": "x"}, **overrides))  # type: ignore[arg-type]


def lease(job_id: str, run_id: str, node: str = "n1") -> ev.JobRunLeased:
    return ev.JobRunLeased(job_id=job_id, run_id=run_id, executor="c1", node=node, pool="p")


def test_apply_indexes_queued_and_running_jobs_and_drops_terminal_ones() -> None:
    jobs = db()
    jobs.apply([sequence(submit("j1"), submit("j2", priority=5), submit("j3"))])
    snap = jobs.read()
    assert [j.job_id for j in snap.queued("queue-a")] == ["j1", "j3", "j2"]
    assert snap["j1"].spec.pod_spec == b"" and not snap["j1"].spec.labels
    jobs.apply([sequence(lease("j1", "r1"), ev.JobRunRunning(job_id="j1", run_id="r1"))])
    later = jobs.read()
    assert list(later.active_on_executor("c1")) == ["j1"] and later.active_executors() == ["c1"]
    assert later.active_in_pool("p") == {"j1"} and later.active_of_queue("queue-a") == {"j1"}
    assert [j.job_id for j in later.queued("queue-a")] == ["j3", "j2"]
    jobs.apply(
        [sequence(ev.JobRunSucceeded(job_id="j1", run_id="r1"), ev.JobSucceeded(job_id="j1"))]
    )
    assert jobs.read().get("j1") is None and len(jobs.read()) == 2
    jobs.validate()


def test_snapshots_do_not_change_when_the_database_does() -> None:
    jobs = db()
    jobs.apply([sequence(submit("j1"), submit("j2"))])
    before = jobs.read()
    jobs.apply([sequence(lease("j1", "r1"), ev.CancelledJob(job_id="j2"))])
    assert before["j1"].state is JobState.QUEUED and before.get("j2") is not None
    assert [j.job_id for j in before.queued("queue-a")] == ["j1", "j2"]
    assert jobs.read()["j1"].state is JobState.LEASED
    assert not list(jobs.read().queued("queue-a"))
    jobs.validate()


def test_an_aborted_transaction_leaves_no_trace() -> None:
    jobs = db()
    jobs.apply([sequence(submit("j1"))])
    with pytest.raises(RuntimeError, match="boom"), jobs.write() as txn:
        txn.apply([sequence(submit("j2"), lease("j1", "r1"))])
        raise RuntimeError("boom")
    assert jobs.read().get("j2") is None and jobs.read()["j1"].state is JobState.QUEUED
    jobs.validate()


def test_stale_and_invalid_events_are_skipped_with_a_note() -> None:
    jobs = db()
    report = jobs.apply(
        [sequence(submit("j1"), ev.JobRunRunning(job_id="j1", run_id="nope"), submit("j1"))]
    )
    assert report.applied == 1
    assert [n.event for n in report.notes] == ["JobRunRunning", "SubmitJob"]
    report = jobs.apply([sequence(lease("j1", "r1"), lease("j1", "r2"))])
    assert report.notes[-1].invalid
    jobs.validate()


def test_identical_requirements_are_interned_and_grouped() -> None:
    jobs = db()
    jobs.apply([sequence(*(submit(f"j{i}") for i in range(5)))])
    jobs.apply([sequence(submit("big", requirements=requirements(resources={"cpu": 64000})))])
    snap = jobs.read()
    assert snap["j0"].spec.requirements is snap["j4"].spec.requirements
    groups = snap.queued_groups("queue-a")
    assert sorted(len(g) for g in groups.values()) == [1, 5]
    assert len(snap.keys) == 2


def test_reprioritising_moves_a_job_in_the_queue_order() -> None:
    jobs = db()
    jobs.apply([sequence(submit("j1"), submit("j2"))])
    jobs.apply([sequence(ev.ReprioritisedJob(job_id="j1", priority=9))])
    assert [j.job_id for j in jobs.read().queued("queue-a")] == ["j2", "j1"]
    jobs.validate()


def test_gang_members_are_collected() -> None:
    jobs = db()
    gang = Gang(id="g", cardinality=2)
    jobs.apply([sequence(submit("m1", gang=gang), submit("m2", gang=gang))])
    assert jobs.read().gang("queue-a", "g") == {"m1", "m2"}
    jobs.apply([sequence(ev.CancelledJob(job_id="m1"))])
    assert jobs.read().gang("queue-a", "g") == {"m2"}
    jobs.validate()


def test_only_one_writer_at_a_time() -> None:
    jobs = db()
    txn = jobs.begin()
    with pytest.raises(RuntimeError, match="already open"):
        jobs.begin()
    txn.commit()
    with pytest.raises(RuntimeError, match="already committed"):
        txn.delete("j1")


def test_validated_pools_split_a_key_group() -> None:
    jobs = db()
    jobs.apply([sequence(submit("j1"), submit("j2"))])
    jobs.apply([sequence(ev.JobValidated(job_id="j2", pools=("gpu",)))])
    snap = jobs.read()
    groups = {
        snap.groups[g].pools: len(members) for g, members in snap.queued_groups("queue-a").items()
    }
    assert groups == {None: 1, frozenset({"gpu"}): 1}
    assert [j.job_id for j in snap.queued("queue-a")] == ["j1", "j2"]
    jobs.validate()

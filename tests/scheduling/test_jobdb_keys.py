"""Scheduling keys no live job uses are forgotten, but never under a snapshot that holds them."""

from __future__ import annotations

import gc

from hypothesis import given, settings
from hypothesis import strategies as st

from armada.config.scheduling import SchedulingSettings
from armada.domain import events as ev
from armada.scheduling import JobDb, JobDbSnapshot
from armada.scheduling.jobdb import validate_snapshot
from tests.builders import job_spec, requirements, sequence


def db() -> JobDb:
    return JobDb(SchedulingSettings().domain_priority_classes())


def shaped(job_id: str, shape: int) -> ev.SubmitJob:
    """A job whose memory request is its own shape: one scheduling key per shape."""
    req = requirements(resources={"cpu": 1000, "memory": 1_000_000 + shape})
    return ev.SubmitJob(spec=job_spec(job_id, requirements=req))


def finish(job_id: str) -> ev.CancelledJob:
    return ev.CancelledJob(job_id=job_id)


def test_keys_of_finished_jobs_are_forgotten() -> None:
    jobs = db()
    jobs.apply([sequence(*(shaped(f"j{i}", i) for i in range(100)))])
    assert len(jobs.keys) == 100 and len(jobs.groups) == 100
    jobs.apply([sequence(*(finish(f"j{i}") for i in range(100)))])
    assert len(jobs.keys) == 0 and len(jobs.groups) == 0
    assert jobs.keys_reclaimed == 100
    jobs.validate()


def test_a_snapshot_keeps_the_keys_its_jobs_hold_until_it_is_let_go() -> None:
    jobs = db()
    jobs.apply([sequence(shaped("a", 1), shaped("b", 2))])
    held = jobs.read()
    key_a = held.key_of(held["a"])
    group_a = next(iter(held.queued_groups("queue-a")))
    jobs.apply([sequence(finish("a"), finish("b"))])
    jobs.apply([sequence(shaped("c", 3))])  # more commits: still not forgotten
    assert held.key_of(held["a"]) is key_a and held.keys[key_a.id] is key_a
    assert group_a in held.groups
    validate_snapshot(held)
    assert len(jobs.keys) == 3
    del held
    gc.collect()
    jobs.apply([sequence(shaped("d", 4))])
    assert len(jobs.keys) == 2  # c and d
    jobs.validate()


def test_a_key_used_again_before_it_is_forgotten_keeps_its_id() -> None:
    jobs = db()
    jobs.apply([sequence(shaped("a", 1))])
    held = jobs.read()
    first = held.key_of(held["a"]).id
    jobs.apply([sequence(finish("a"))])
    jobs.apply([sequence(shaped("b", 1))])  # the same shape, while `held` pins the key
    now = jobs.read()
    assert now.key_of(now["b"]).id == first
    del held, now
    gc.collect()
    jobs.apply([sequence(shaped("c", 2))])
    again = jobs.read()
    assert again.key_of(again["b"]).id == first  # in use: kept
    assert again.key_of(again["c"]).id not in (first,)
    jobs.validate()


def test_ids_are_never_reused() -> None:
    jobs = db()
    seen: set[int] = set()
    for i in range(5):
        jobs.apply([sequence(shaped(f"j{i}", 7))])
        snap = jobs.read()
        key_id = snap.key_of(snap[f"j{i}"]).id
        assert key_id not in seen
        seen.add(key_id)
        del snap
        jobs.apply([sequence(finish(f"j{i}"))])
        assert len(jobs.keys) == 0


def test_keys_made_by_an_aborted_transaction_are_forgotten() -> None:
    jobs = db()
    txn = jobs.begin()
    txn.apply([sequence(shaped("a", 1), shaped("b", 2))])
    txn.abort()
    assert len(jobs.keys) == 0
    jobs.apply([sequence(shaped("c", 3))])  # the database is writable again
    assert len(jobs.keys) == 1
    jobs.validate()


# A step: submit a job of a shape, finish a job, take a snapshot, or let one go.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.integers(0, 5)),
        st.tuples(st.just("finish"), st.integers(0, 30)),
        st.tuples(st.just("hold"), st.just(0)),
        st.tuples(st.just("drop"), st.integers(0, 5)),
    ),
    max_size=60,
)


def _resolves(snap: JobDbSnapshot, expected: dict[str, int]) -> None:
    """Every job of the snapshot still finds the very key (same id) it had when taken."""
    validate_snapshot(snap)
    for job in snap.jobs():
        key = snap.keys.lookup(job.spec.requirements)
        assert key is not None and key.id == expected[job.job_id]
        assert snap.keys[key.id] is key
    for queue in snap.queues_with_queued_jobs():
        for group_id in snap.queued_groups(queue):
            assert snap.groups[group_id].key.id in snap.keys


def _hold(jobs: JobDb) -> tuple[JobDbSnapshot, dict[str, int]]:
    snap = jobs.read()
    return snap, {job.job_id: snap.key_of(job).id for job in snap.jobs()}


def _check(held: list[tuple[JobDbSnapshot, dict[str, int]]]) -> None:
    for snap, expected in held:
        _resolves(snap, expected)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_snapshots_taken_before_reclamation_still_resolve_their_keys(
    plan: list[tuple[str, int]],
) -> None:
    jobs = db()
    held: list[tuple[JobDbSnapshot, dict[str, int]]] = []
    live: list[str] = []
    made = 0
    for action, n in plan:
        if action == "submit":
            job_id = f"j{made}"
            made += 1
            jobs.apply([sequence(shaped(job_id, n))])
            live.append(job_id)
        elif action == "finish" and live:
            jobs.apply([sequence(finish(live.pop(n % len(live))))])
        elif action == "hold":
            held.append(_hold(jobs))
        elif action == "drop" and held:
            held.pop(n % len(held))
        _check(held)  # (no reference to a snapshot is left in this frame)
        jobs.validate()
    held.clear()
    gc.collect()
    jobs.apply([sequence()])  # a commit with nothing pinned: every unused key goes
    snap = jobs.read()
    in_use = {snap.key_of(job).id for job in snap.jobs()}
    assert len(jobs.keys) == len(in_use)
    jobs.validate()

"""The job database's bulk path for new jobs gives exactly what one event at a time gives.

``WriteTxn.apply`` stores new jobs without going through ``upsert`` and adds their queued-index
entries a group at a time; ``WriteTxn.apply_one`` is the plain path (the lifecycle's
``apply_event`` and ``upsert`` for every event). Random logs of submissions (twins, duplicates,
gangs, pod specs and labels to drop) mixed with every kind of later event must leave the same
database and the same report, whether applied in one transaction or several.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from armada.config.scheduling import SchedulingSettings
from armada.domain import events as ev
from armada.domain.jobs import Gang
from armada.domain.queues import Queue
from armada.scheduling import JobDb, JobDbSnapshot
from armada.scheduling.jobdb import ApplyReport
from armada.scheduling.keys import KeyTable
from tests.builders import job_spec, requirements

JOBS = [f"j{i}" for i in range(8)]
RUNS = [f"r{i}" for i in range(3)]
# Equal requirements built anew each time (and with their dict in another order): the bulk
# path must intern them to the same object as the plain path does.
SHAPES = [
    lambda: requirements(resources={"cpu": 1000, "memory": 2000}),
    lambda: requirements(resources={"memory": 2000, "cpu": 1000}),
    lambda: requirements(resources={"cpu": 2000}, priority_class="armada-preemptible"),
    lambda: requirements(resources={"cpu": 1000}, node_selector={"zone": "a"}),
]


@st.composite
def submissions(draw: st.DrawFn) -> ev.SubmitJob:
    extra: dict[str, Any] = {}
    if draw(st.booleans()):
        extra["labels"] = {"team": "x"}
    if draw(st.integers(0, 4)) == 0:
        extra["gang"] = Gang(id=draw(st.sampled_from(["g1", "g2"])), cardinality=2)
    spec = job_spec(
        draw(st.sampled_from(JOBS)),
        queue=draw(st.sampled_from(["q1", "q2"])),
        job_set=draw(st.sampled_from(["s1", "s2"])),
        priority=draw(st.integers(0, 2)),
        requirements=draw(st.sampled_from(SHAPES))(),
        submitted=draw(st.sampled_from([10.0, 11.0])),
        **extra,
    )
    return ev.SubmitJob(spec=spec)


def later_events(job: str, run: str) -> list[ev.Event]:
    failure = ev.FailureInfo(reason="exit 1")
    return [
        ev.JobValidated(job_id=job, pools=("p1",)),
        ev.JobRunLeased(job_id=job, run_id=run, executor="c1", node="n1", pool="p1"),
        ev.JobRunRunning(job_id=job, run_id=run),
        ev.JobRunSucceeded(job_id=job, run_id=run),
        ev.JobSucceeded(job_id=job),
        ev.JobRunLeaseReturned(job_id=job, run_id=run),
        ev.JobRequeued(job_id=job, avoid_nodes=("n1",)),
        ev.ReprioritisedJob(job_id=job, priority=5),
        ev.CancelledJob(job_id=job),
        ev.JobFailed(job_id=job, failure=failure),
    ]


events = st.one_of(
    submissions(),
    st.builds(
        lambda job, run, i: later_events(job, run)[i],
        st.sampled_from(JOBS),
        st.sampled_from(RUNS),
        st.integers(0, 9),
    ),
    st.just(ev.QueueCreated(queue=Queue(name="q3"))),
)
logs = st.lists(
    st.lists(events, min_size=1, max_size=12).map(
        lambda evs: ev.EventSequence(queue="q1", job_set="s1", user="u", created=20.0, events=evs)
    ),
    max_size=10,
)


def new_db() -> JobDb:
    return JobDb(SchedulingSettings().domain_priority_classes())


def one_at_a_time(log: list[ev.EventSequence]) -> tuple[JobDb, ApplyReport]:
    db, report = new_db(), ApplyReport()
    with db.write() as txn:
        for sequence in log:
            for event in sequence.events:
                if isinstance(event, ev.SubmitJob) or hasattr(event, "job_id"):
                    txn.apply_one(event, sequence, report)  # type: ignore[arg-type]
    return db, report


def _group_value(snap: JobDbSnapshot, group_id: int) -> tuple[object, ...]:
    group = snap.groups[group_id]
    return (group.key.requirements.key(), group.pools)


def contents(snap: JobDbSnapshot) -> dict[str, Any]:
    """Everything the database holds, comparable with ==: jobs, every index, the keys."""
    s = snap._s
    return {
        "jobs": {job.job_id: job for job in snap.jobs()},
        "size": len(snap),
        "queued": {
            queue: {
                _group_value(snap, group_id): list(members) for group_id, members in groups.items()
            }
            for queue, groups in s.queued.items()
        },
        # Keys in use, by value: ids and unused keys depend on when snapshots were let go.
        "keys": {snap.keys[i].requirements.key(): n for i, n in snap.keys.use_counts().items()},
        "indexes": (s.by_node, s.nodes_of, s.by_pool, s.by_queue, s.gangs),
    }


@settings(max_examples=150, deadline=None)
@given(logs, st.integers(1, 4))
def test_bulk_apply_equals_one_event_at_a_time(log: list[ev.EventSequence], chunk: int) -> None:
    plain, plain_report = one_at_a_time(log)
    split, one_txn = new_db(), new_db()
    notes: list[ev.Event] = []
    applied = 0
    with one_txn.write() as txn:
        for start in range(0, len(log), chunk):
            part = log[start : start + chunk]
            report = split.apply(part)
            notes += report.notes  # type: ignore[arg-type]
            applied += report.applied
            txn.apply(part)
    assert contents(split.read()) == contents(plain.read())
    assert contents(one_txn.read()) == contents(plain.read())
    assert (applied, notes) == (plain_report.applied, plain_report.notes)
    for db in (plain, split, one_txn):
        db.validate()


def test_twins_share_requirements_and_strings_and_keep_no_pod_spec() -> None:
    db = new_db()
    specs = [
        job_spec(f"j{i}", queue="".join(["queue-", "a"]), requirements=SHAPES[i % 2]())
        for i in range(4)
    ]
    report = db.apply(
        [
            ev.EventSequence(
                queue="queue-a",
                job_set="set-1",
                user="u",
                created=5.0,
                events=[ev.SubmitJob(spec=s) for s in specs],
            )
        ]
    )
    assert report.applied == 4 and not report.notes
    jobs = [db.read()[f"j{i}"] for i in range(4)]
    assert all(j.spec.requirements is jobs[0].spec.requirements for j in jobs)
    assert all(j.spec.queue is jobs[0].spec.queue for j in jobs)
    assert all(j.spec.pod_spec == b"" and j.submitted_at == 5.0 for j in jobs)
    assert len(db.read().keys) == 1
    db.validate()


@given(st.lists(st.sampled_from(SHAPES), max_size=30))
def test_interning_a_run_of_requirements_keys_them_by_value(shapes: list[Any]) -> None:
    table = KeyTable({"armada-default": 0, "armada-preemptible": 1}, 0)
    made = [shape() for shape in shapes]
    keys = [table.intern(r) for r in made]
    for r, key in zip(made, keys, strict=True):
        assert key.requirements == r and key.requirements.key() == r.key()
        assert table.of(key.requirements) is key
    for a, ka in zip(made, keys, strict=True):
        for b, kb in zip(made, keys, strict=True):
            assert (ka is kb) == (a.key() == b.key())
    assert len(table) == len({r.key() for r in made})

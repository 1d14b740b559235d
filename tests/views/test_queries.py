"""The query store's queries, each on its own, and catching up after a crash.

Written against the store's public methods only, with a ``store`` fixture, so that the same
tests can run against every QueryStore backend. The views are filled the way production fills
them: events appended to a log and replayed into the store by a :class:`ViewUpdater`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from armada.domain import events as ev
from armada.domain.events import EventSequence, LogEntry
from armada.domain.queues import ExecutorSettings, Queue, RetryPolicy
from armada.domain.states import JobState
from armada.eventlog import MemoryEventLog
from armada.views.store import ACTIVE_STATES, NON_TERMINAL_STATES, QueryStore
from armada.views.updater import ViewUpdater
from tests.builders import sequence, submit


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QueryStore]:
    opened = QueryStore(None if request.param == "memory" else tmp_path / "views.db")
    yield opened
    opened.close()


def fill(store: QueryStore, *sequences: EventSequence) -> MemoryEventLog:
    """Append ``sequences`` to a new log and bring ``store`` up to date with it."""
    log = MemoryEventLog()
    log.append(list(sequences))
    ViewUpdater(log, store).catch_up()
    return log


def control(*events: ev.Event) -> EventSequence:
    return sequence(*events, queue="", job_set="")


def leased(job_id: str, run_id: str, node: str = "n1", pool: str = "cpu") -> ev.JobRunLeased:
    return ev.JobRunLeased(job_id=job_id, run_id=run_id, executor="c1", node=node, pool=pool)


def ids(jobs: list[object]) -> list[str]:
    return [job.job_id for job in jobs]  # type: ignore[attr-defined]


def test_jobs_are_found_by_id_and_unknown_ids_are_left_out(store: QueryStore) -> None:
    fill(store, sequence(submit("a"), submit("b")))
    assert set(store.get_jobs(["a", "b", "nope", "a"])) == {"a", "b"}
    job = store.get_job("a")
    assert job is not None and job.state is JobState.QUEUED and job.spec.queue == "queue-a"
    assert store.get_job("nope") is None
    assert store.get_jobs([]) == {}
    assert store.get_job_states(["b", "nope"]) == {"b": JobState.QUEUED}


def test_many_ids_are_looked_up_in_chunks(store: QueryStore) -> None:
    """More ids than one query takes (500): every existing one is still found."""
    wanted = [f"j{n:04d}" for n in range(1_203)]
    fill(store, sequence(*(submit(j) for j in wanted[::2])))
    assert set(store.get_job_states(wanted)) == set(wanted[::2])
    assert set(store.get_jobs(wanted)) == set(wanted[::2])


def test_job_sets_and_queues_list_jobs_in_the_asked_states_oldest_first(
    store: QueryStore,
) -> None:
    fill(
        store,
        sequence(submit("late"), created=30.0),
        sequence(submit("early"), created=10.0),
        sequence(submit("b-tie"), submit("a-tie"), created=20.0),
        sequence(submit("other-set", job_set="set-2"), job_set="set-2", created=5.0),
        sequence(submit("other-queue", queue="queue-b"), queue="queue-b", created=1.0),
        sequence(
            leased("late", "r1"), ev.CancelJob(job_id="early"), ev.CancelledJob(job_id="early")
        ),
    )
    queued = store.jobs_in_job_set("queue-a", "set-1", [JobState.QUEUED])
    assert ids(queued) == ["a-tie", "b-tie"]  # same time: by id
    live = store.jobs_in_job_set("queue-a", "set-1", NON_TERMINAL_STATES)
    assert ids(live) == ["a-tie", "b-tie", "late"]
    assert ids(store.jobs_in_job_set("queue-a", "set-1", [JobState.CANCELLED])) == ["early"]
    assert store.jobs_in_job_set("queue-a", "nope", NON_TERMINAL_STATES) == []
    in_queue = store.jobs_in_queue("queue-a", [JobState.QUEUED])
    assert ids(in_queue) == ["other-set", "a-tie", "b-tie"]
    assert store.count_jobs_in_queue("queue-a", [JobState.QUEUED]) == 3
    assert store.count_jobs_in_queue("queue-a", ACTIVE_STATES) == 1
    assert store.count_jobs_in_queue("queue-b", [JobState.CANCELLED]) == 0


def test_jobs_on_an_executor_are_its_active_ones_on_the_asked_node(store: QueryStore) -> None:
    fill(
        store,
        sequence(submit("b"), submit("a"), submit("c")),
        sequence(
            leased("a", "ra", node="n1"),
            leased("b", "rb", node="n2"),
            leased("c", "rc", node="n1"),
            ev.JobRunSucceeded(job_id="c", run_id="rc"),
            ev.JobSucceeded(job_id="c"),
        ),
    )
    assert ids(store.jobs_on_executor("c1")) == ["a", "b"]  # c has finished
    assert ids(store.jobs_on_executor("c1", node="n2")) == ["b"]
    assert store.jobs_on_executor("c1", node="n9") == []
    assert store.jobs_on_executor("c2") == []
    assert store.job_ids_for_runs(["ra", "rc", "nope"]) == {"ra": "a", "rc": "c"}
    assert store.job_ids_for_runs([]) == {}


def test_client_ids_and_external_uris_find_their_jobs_in_their_own_queue(
    store: QueryStore,
) -> None:
    fill(
        store,
        sequence(submit("b", client_id="cb", external_job_uri="uri"), created=2.0),
        sequence(submit("a", client_id="ca", external_job_uri="uri"), created=1.0),
        sequence(submit("x", queue="queue-b", client_id="ca"), queue="queue-b"),
    )
    assert store.job_ids_for_client_ids("queue-a", ["ca", "cb", "nope"]) == {"ca": "a", "cb": "b"}
    assert store.job_ids_for_client_ids("queue-b", ["ca"]) == {"ca": "x"}
    assert store.job_ids_for_client_ids("queue-a", []) == {}
    newest = store.job_by_external_uri("queue-a", "set-1", "uri")
    assert newest is not None and newest.job_id == "b"  # the latest submitted with that URI
    assert store.job_by_external_uri("queue-a", "set-2", "uri") is None


def test_active_queues_are_grouped_by_pool(store: QueryStore) -> None:
    fill(
        store,
        sequence(submit("unchecked"), submit("checked"), submit("running"), submit("done")),
        sequence(submit("elsewhere", queue="queue-b"), queue="queue-b"),
        sequence(
            ev.JobValidated(job_id="checked", pools=("gpu", "cpu")),
            leased("running", "r1", pool="big"),
            ev.CancelJob(job_id="done"),
            ev.CancelledJob(job_id="done"),
        ),
        sequence(ev.JobValidated(job_id="elsewhere", pools=("gpu",)), queue="queue-b"),
    )
    assert store.active_queues_by_pool("default") == {
        "big": ["queue-a"],
        "cpu": ["queue-a"],
        "default": ["queue-a"],  # the queued job not yet checked
        "gpu": ["queue-a", "queue-b"],
    }


def test_the_control_plane_is_listed_by_name_and_deletions_stick(store: QueryStore) -> None:
    fill(
        store,
        control(
            ev.QueueCreated(queue=Queue(name="q2")),
            ev.QueueCreated(queue=Queue(name="q1")),
            ev.QueueCreated(queue=Queue(name="gone")),
            ev.QueueUpdated(queue=Queue(name="q1", priority_factor=3.0)),
            ev.QueueDeleted(name="gone"),
            ev.RetryPolicyUpserted(policy=RetryPolicy(name="p2", retry_limit=1)),
            ev.RetryPolicyUpserted(policy=RetryPolicy(name="p1", retry_limit=5)),
            ev.RetryPolicyDeleted(name="p2"),
            ev.ExecutorSettingsUpserted(settings=ExecutorSettings(executor="c2", cordoned=True)),
            ev.ExecutorSettingsUpserted(settings=ExecutorSettings(executor="c1")),
            ev.ExecutorSettingsDeleted(executor="c2"),
        ),
    )
    assert [q.name for q in store.list_queues()] == ["q1", "q2"]
    q1 = store.get_queue("q1")
    assert q1 is not None and q1.priority_factor == 3.0
    assert store.get_queue("gone") is None
    assert [p.name for p in store.list_retry_policies()] == ["p1"]
    p1 = store.get_retry_policy("p1")
    assert p1 is not None and p1.retry_limit == 5
    assert store.get_retry_policy("p2") is None
    assert [s.executor for s in store.list_executor_settings()] == ["c1"]


# --- catching up after a crash ------------------------------------------------------------


class CrashingLog(MemoryEventLog):
    """A log whose reads fail after ``reads_before_crash`` of them, as if the process died
    while catching up; everything else is the in-memory log's."""

    def __init__(self, reads_before_crash: int) -> None:
        super().__init__()
        self.reads_left = reads_before_crash

    def read(self, after: int, limit: int) -> list[LogEntry]:
        if self.reads_left <= 0:
            raise RuntimeError("the process died here")
        self.reads_left -= 1
        return super().read(after, limit)


def many_entries(count: int) -> list[EventSequence]:
    """``count`` log entries, each submitting one job and leasing the one before it."""
    out = []
    for n in range(count):
        events: list[ev.Event] = [submit(f"j{n:03d}")]
        if n:
            events.append(leased(f"j{n - 1:03d}", f"r{n - 1:03d}"))
        out.append(sequence(*events))
    return out


def test_a_crash_while_catching_up_leaves_the_views_as_they_were(store: QueryStore) -> None:
    """The checkpoint is written in the same transaction as the rows: a catch-up that dies
    half way changes nothing, and the next one applies every entry exactly once."""
    log = CrashingLog(reads_before_crash=1_000)
    log.append(many_entries(30))
    assert ViewUpdater(log, store).catch_up() == 30
    log.append(many_entries(90)[30:])
    log.reads_left = 1  # entries are read 20 at a time: it dies on the second read
    with pytest.raises(RuntimeError, match="died"):
        ViewUpdater(log, store).catch_up()
    assert store.checkpoint() == 30
    assert len(store.all_jobs()) == 30
    assert store.get_job_states(["j029"]) == {"j029": JobState.QUEUED}  # lease not applied

    log.reads_left = 1_000  # restarted
    assert ViewUpdater(log, store).catch_up() == 90
    reference = QueryStore(None)
    fill(reference, *many_entries(90))
    assert store.all_jobs() == reference.all_jobs()
    assert store.count_jobs_in_queue("queue-a", ACTIVE_STATES) == 89
    reference.close()


def test_entries_appended_while_the_views_were_down_are_applied_at_the_next_catch_up(
    store: QueryStore,
) -> None:
    log = fill(store, *many_entries(5))
    log.append(many_entries(8)[5:])  # appended, but the process died before updating views
    assert store.checkpoint() == 5 and store.get_job("j007") is None
    assert ViewUpdater(log, store).catch_up() == 8
    job = store.get_job("j007")
    assert job is not None and job.state is JobState.QUEUED
    assert store.get_job_states(["j006"]) == {"j006": JobState.LEASED}
    assert ViewUpdater(log, store).catch_up() == 8  # nothing more to do

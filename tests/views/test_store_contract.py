"""The query store's contract: every backend (in-memory SQLite, the SQLite file, PostgreSQL)
answers every query the same way for the same log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from armada.config.server import StorageSettings
from armada.domain import events as ev
from armada.domain.queues import ExecutorSettings, Queue, RetryPolicy
from armada.domain.states import JobState
from armada.eventlog.keys import client_id_key
from armada.views.retention import Pruned, prune_expired
from armada.views.storage import Storage, open_storage, rebuild_views
from armada.views.store import ACTIVE_STATES, NON_TERMINAL_STATES
from tests.builders import sequence, submit
from tests.postgres_support import fresh_schema


def settings_for(kind: str, tmp_path: Path, stack: ExitStack) -> StorageSettings:
    if kind == "memory":
        return StorageSettings(event_log="memory")
    if kind == "sqlite":
        return StorageSettings(data_dir=tmp_path)
    return StorageSettings(store=stack.enter_context(fresh_schema()))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageSettings]:
    with ExitStack() as stack:
        yield settings_for(request.param, tmp_path, stack)


@pytest.fixture(params=["sqlite", "postgres"])
def durable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageSettings]:
    with ExitStack() as stack:
        yield settings_for(request.param, tmp_path, stack)


@pytest.fixture
def storage(settings: StorageSettings) -> Iterator[Storage]:
    opened = open_storage(settings)
    yield opened
    opened.close()


def control(*events: ev.Event) -> ev.EventSequence:
    return sequence(*events, queue="", job_set="")


def populate(storage: Storage) -> None:
    storage.append(
        [
            control(
                ev.QueueCreated(queue=Queue(name="q1")), ev.QueueCreated(queue=Queue(name="q0"))
            ),
            control(ev.QueueUpdated(queue=Queue(name="q1", priority_factor=2.0))),
            control(ev.RetryPolicyUpserted(policy=RetryPolicy(name="p", retry_limit=3))),
            control(ev.ExecutorSettingsUpserted(settings=ExecutorSettings(executor="c1"))),
            sequence(
                submit("a", queue="q1", job_set="s", client_id="ca"),
                submit("b", queue="q1", job_set="s", client_id="cb"),
                submit("c", queue="q1", job_set="s", external_job_uri="uri-c"),
                queue="q1",
                job_set="s",
            ),
            sequence(submit("d", queue="q1", job_set="t"), queue="q1", job_set="t"),
            sequence(
                ev.JobRunLeased(job_id="a", run_id="r1", executor="c1", node="n1", pool="gpu"),
                ev.JobRunRunning(job_id="a", run_id="r1"),
                ev.CancelJob(job_id="b", reason="no"),
                ev.CancelledJob(job_id="b"),
                queue="q1",
                job_set="s",
            ),
        ]
    )


def test_every_query_answers_the_same_on_every_backend(storage: Storage) -> None:
    populate(storage)
    store = storage.store
    assert store.checkpoint() == storage.log.head() == 7
    assert [j.job_id for j in store.all_jobs()] == ["a", "b", "c", "d"]
    assert store.get_job_states(["a", "b", "zz"]) == {
        "a": JobState.RUNNING,
        "b": JobState.CANCELLED,
    }
    job = store.get_job("a")
    assert job is not None and job.latest_run is not None and job.latest_run.node == "n1"
    assert store.get_job("zz") is None
    assert store.job_ids_for_runs(["r1", "r9"]) == {"r1": "a"}
    in_set = store.jobs_in_job_set("q1", "s", NON_TERMINAL_STATES)
    assert [j.job_id for j in in_set] == ["a", "c"]
    assert [j.job_id for j in store.jobs_in_queue("q1", [JobState.QUEUED])] == ["c", "d"]
    assert store.count_jobs_in_queue("q1", NON_TERMINAL_STATES) == 3
    assert store.count_jobs_in_queue("q0", NON_TERMINAL_STATES) == 0
    assert [j.job_id for j in store.jobs_on_executor("c1")] == ["a"]
    assert [j.job_id for j in store.jobs_on_executor("c1", "n1")] == ["a"]
    assert store.jobs_on_executor("c1", "n2") == []
    by_uri = store.job_by_external_uri("q1", "s", "uri-c")
    assert by_uri is not None and by_uri.job_id == "c"
    assert store.active_queues_by_pool("default") == {"default": ["q1"], "gpu": ["q1"]}
    assert store.job_ids_for_client_ids("q1", ["ca", "cb", "cx"]) == {"ca": "a", "cb": "b"}
    assert [q.name for q in store.list_queues()] == ["q0", "q1"]
    queue = store.get_queue("q1")
    assert queue is not None and queue.priority_factor == 2.0
    policy = store.get_retry_policy("p")
    assert policy is not None and policy.retry_limit == 3
    assert [p.name for p in store.list_retry_policies()] == ["p"]
    assert [s.executor for s in store.list_executor_settings()] == ["c1"]
    assert {j.state for j in store.jobs_in_queue("q1", ACTIVE_STATES)} == {JobState.RUNNING}
    storage.append(
        [
            control(ev.QueueDeleted(name="q0"), ev.RetryPolicyDeleted(name="p")),
            control(ev.ExecutorSettingsDeleted(executor="c1")),
        ]
    )
    assert [q.name for q in store.list_queues()] == ["q1"]
    assert store.get_retry_policy("p") is None and store.list_executor_settings() == []


def test_rebuilding_the_views_gives_the_same_answers(durable: StorageSettings) -> None:
    settings = durable
    storage = open_storage(settings)
    populate(storage)
    before = storage.store.all_jobs()
    storage.close()
    assert rebuild_views(settings) == (7, 4)
    again = open_storage(settings)
    try:
        assert again.store.all_jobs() == before
    finally:
        again.close()


# --- retention -----------------------------------------------------------------------------


def finished_job_set(job_set: str, at: float, *job_ids: str) -> list[ev.EventSequence]:
    submitted = sequence(
        *(submit(j, queue="q1", job_set=job_set, client_id=f"c-{j}") for j in job_ids),
        queue="q1",
        job_set=job_set,
        created=at - 10,
    )
    done = [
        sequence(
            ev.JobRunLeased(job_id=j, run_id=f"r-{j}", executor="c1", node="n1", pool="p"),
            ev.JobRunSucceeded(job_id=j, run_id=f"r-{j}"),
            ev.JobSucceeded(job_id=j),
            queue="q1",
            job_set=job_set,
            created=at,
        )
        for j in job_ids
    ]
    return [submitted, *done]


def test_expired_job_sets_are_deleted_from_the_log_and_the_views(storage: Storage) -> None:
    storage.append([control(ev.QueueCreated(queue=Queue(name="q1")))])
    storage.append(finished_job_set("old", 100.0, "o1", "o2", "o3"))
    storage.append(finished_job_set("recent", 1000.0, "n1"))
    storage.append(
        [
            sequence(
                submit("l1", queue="q1", job_set="old-but-live"),
                queue="q1",
                job_set="old-but-live",
                created=50.0,
            )
        ]
    )
    pruned = prune_expired(storage, before=500.0, batch=2)
    assert pruned == Pruned(job_sets=1, entries=4, jobs=3)
    assert storage.log.read_job_set("q1", "old", 0, 100) == []
    assert storage.store.get_jobs(["o1", "o2", "o3"]) == {}
    assert set(storage.store.get_job_states(["n1", "l1"])) == {"n1", "l1"}
    assert storage.store.job_ids_for_runs(["r-o1", "r-n1"]) == {"r-n1": "n1"}
    assert storage.store.job_ids_for_client_ids("q1", ["c-o1", "c-n1"]) == {"c-n1": "n1"}
    reused = client_id_key("q1", "c-o1")
    assert storage.log.key_state(reused).exists is False, "the client id may be used again"
    assert storage.log.key_state(client_id_key("q1", "c-n1")).exists is True
    assert prune_expired(storage, before=500.0, batch=2) == Pruned()
    assert storage.store.expired_job_sets(2000.0, 10) == [("q1", "recent")]


def counts(storage: Storage) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The job set counts, and the same counted from the jobs' rows."""
    with storage.store.read() as conn:
        kept = conn.execute(
            "SELECT queue, job_set, state, n FROM job_set_counts ORDER BY 1, 2, 3"
        ).fetchall()
        counted = conn.execute(
            "SELECT queue, job_set, state, COUNT(*) FROM jobs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        ).fetchall()
    return [tuple(r) for r in kept], [tuple(r) for r in counted]


def test_job_set_counts_follow_every_move_and_retention(storage: Storage) -> None:
    populate(storage)
    kept, counted = counts(storage)
    assert (
        kept
        == counted
        == [
            ("q1", "s", "CANCELLED", 1),
            ("q1", "s", "QUEUED", 1),
            ("q1", "s", "RUNNING", 1),
            ("q1", "t", "QUEUED", 1),
        ]
    )
    storage.append(
        [sequence(ev.CancelJob(job_id="d"), ev.CancelledJob(job_id="d"), queue="q1", job_set="t")]
    )
    assert storage.store.forget_jobs("q1", "t", before=2e9, limit=10)
    kept, counted = counts(storage)
    assert kept == counted and ("q1", "t", "CANCELLED", 1) not in kept


def test_a_batch_of_new_jobs_is_stored_whole_even_if_one_exists_already(storage: Storage) -> None:
    """A batch's new jobs are written in one go (PostgreSQL: COPY); a log that submits a job
    a second time (no server writes one) must not stop the views: the job is written over."""
    storage.append([sequence(submit("a", job_set="s"), submit("b", job_set="s"), job_set="s")])
    storage.append(
        [sequence(submit("a", job_set="s", priority=7), submit("c", job_set="s"), job_set="s")]
    )
    assert storage.store.checkpoint() == storage.log.head() == 2
    jobs = storage.store.all_jobs()
    assert [job.job_id for job in jobs] == ["a", "b", "c"]
    assert jobs[0].priority == 7, "the second submission's record"
    assert storage.store.get_job_states(["c"]) == {"c": JobState.QUEUED}

"""The event log contract. Every backend must pass every test here.

A new backend is added to the ``make_log`` fixture's params. PostgreSQL's tests get a schema
of their own (tests/postgres_support.py).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from armada.domain import events as ev
from armada.eventlog import EventLog, EventLogError, MemoryEventLog, SqliteEventLog
from armada.eventlog.base import Expect, KeyState, PreconditionFailed
from armada.eventlog.keys import client_id_key, queue_key
from armada.eventlog.postgres import PostgresEventLog
from tests.builders import one_of_every_event, sequence, submit
from tests.postgres_support import fresh_schema

Factory = Callable[[], EventLog]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Returns a factory; for durable backends every call opens the *same* store again."""
    opened: list[EventLog] = []
    shared_memory = MemoryEventLog()
    with ExitStack() as stack:
        url = stack.enter_context(fresh_schema()) if request.param == "postgres" else ""

        def factory() -> EventLog:
            log: EventLog
            if request.param == "memory":
                log = shared_memory
            elif request.param == "sqlite":
                log = SqliteEventLog(tmp_path / "events.db")
            else:
                log = PostgresEventLog(url, pool_size=2)
            opened.append(log)
            return log

        yield factory
        for log in opened:
            log.close()


@pytest.fixture
def log(make_log: Factory) -> EventLog:
    return make_log()


def test_an_empty_log_has_head_zero_and_nothing_to_read(log: EventLog) -> None:
    assert log.head() == 0
    assert log.read(0, 100) == []
    assert log.read_job_set("q", "s", 0, 100) == []
    assert not log.job_set_exists("q", "s")


def test_append_assigns_consecutive_offsets_in_order(log: EventLog) -> None:
    first = log.append([sequence(submit("a")), sequence(submit("b"))])
    second = log.append([sequence(submit("c"))])
    assert [e.offset for e in first + second] == [1, 2, 3]
    assert log.head() == 3
    read = log.read(0, 10)
    assert [e.offset for e in read] == [1, 2, 3]
    assert [e.sequence for e in read] == [s.sequence for s in first + second]


def test_appending_nothing_changes_nothing(log: EventLog) -> None:
    assert log.append([]) == []
    assert log.head() == 0


def test_read_pages_strictly_after_the_given_offset(log: EventLog) -> None:
    log.append([sequence(submit(f"j{i}")) for i in range(10)])
    assert [e.offset for e in log.read(3, 4)] == [4, 5, 6, 7]
    assert [e.offset for e in log.read(8, 100)] == [9, 10]
    assert log.read(10, 5) == []


def test_read_job_set_returns_only_that_job_set_in_order(log: EventLog) -> None:
    log.append(
        [
            sequence(submit("a"), job_set="s1"),
            sequence(submit("b"), job_set="s2"),
            sequence(submit("c"), job_set="s1", queue="other"),
            sequence(submit("d"), job_set="s1"),
        ]
    )
    entries = log.read_job_set("queue-a", "s1", 0, 10)
    assert [e.offset for e in entries] == [1, 4]
    assert [e.offset for e in log.read_job_set("queue-a", "s1", 1, 10)] == [4]
    assert [e.offset for e in log.read_job_set("queue-a", "s1", 0, 1)] == [1]
    assert log.job_set_exists("queue-a", "s2")
    assert log.job_set_exists("other", "s1")
    assert not log.job_set_exists("other", "s2")


def test_every_event_type_survives_the_round_trip(log: EventLog) -> None:
    original = sequence(*one_of_every_event(), cause="test/roundtrip")
    log.append([original])
    (entry,) = log.read(0, 1)
    assert entry.sequence == original
    assert {type(e) for e in entry.sequence.events} == {type(e) for e in original.events}


@pytest.mark.parametrize(("after", "limit"), [(-1, 10), (0, 0), (0, -5)])
def test_bad_read_arguments_are_refused(log: EventLog, after: int, limit: int) -> None:
    with pytest.raises(EventLogError):
        log.read(after, limit)
    with pytest.raises(EventLogError):
        log.read_job_set("q", "s", after, limit)


def test_concurrent_appends_get_unique_gap_free_offsets(log: EventLog) -> None:
    def writer(name: str) -> None:
        for i in range(25):
            log.append([sequence(submit(f"{name}-{i}"), job_set=name)])

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = log.read(0, 1000)
    assert [e.offset for e in entries] == list(range(1, 101))
    for n in range(4):
        ids = [
            e.sequence.events[0].spec.job_id
            for e in log.read_job_set("queue-a", f"w{n}", 0, 100)
            if isinstance(e.sequence.events[0], ev.SubmitJob)
        ]
        assert ids == [f"w{n}-{i}" for i in range(25)], "each writer's order is kept"


def test_entries_survive_reopening(make_log: Factory) -> None:
    first = make_log()
    first.append([sequence(submit("a")), sequence(submit("b"), job_set="s2")])
    second = make_log()
    assert second.head() == 2
    assert [e.sequence for e in second.read(0, 10)] == [e.sequence for e in first.read(0, 10)]
    assert second.job_set_exists("queue-a", "s2")
    assert [e.offset for e in second.append([sequence(submit("c"))])] == [3]


def test_signal_wakes_a_waiting_thread(log: EventLog) -> None:
    woke = threading.Event()

    def waiter() -> None:
        log.signal.wait(timeout=5)
        woke.set()

    t = threading.Thread(target=waiter)
    t.start()
    # Append until the waiter wakes: an append made before it started waiting cannot wake it,
    # but one made after must, long before its own 5 s timeout would.
    started = time.monotonic()
    for n in itertools.count():
        log.append([sequence(submit(f"a{n}"))])
        if woke.wait(0.02) or time.monotonic() - started > 2:
            break
    assert woke.is_set(), "the waiting thread was not woken by the appends"
    t.join()


async def test_signal_wakes_an_asyncio_waiter(log: EventLog) -> None:
    waiter = asyncio.create_task(log.signal.wait_async(timeout=5))
    # As above: append until the waiter wakes, which it must well before its own timeout.
    started = time.monotonic()
    for n in itertools.count():
        await asyncio.to_thread(log.append, [sequence(submit(f"a{n}"))])
        done, _ = await asyncio.wait([waiter], timeout=0.02)
        if done or time.monotonic() - started > 2:
            break
    assert waiter.done(), "the asyncio waiter was not woken by the appends"
    await waiter


async def test_signal_wait_times_out_quietly(log: EventLog) -> None:
    started = time.monotonic()
    await log.signal.wait_async(timeout=0.05)
    assert time.monotonic() - started >= 0.04


# --- preconditions: decisions taken inside the append's transaction ----------------------------


def _queue_created(name: str) -> ev.EventSequence:
    from armada.domain.queues import Queue

    return sequence(ev.QueueCreated(queue=Queue(name=name)), queue="", job_set="")


def _queue_deleted(name: str) -> ev.EventSequence:
    return sequence(ev.QueueDeleted(name=name), queue="", job_set="")


def test_keys_follow_the_control_plane_events(log: EventLog) -> None:
    key = queue_key("q1")
    assert log.key_state(key) == KeyState(exists=False, version=0)
    (created,) = log.append([_queue_created("q1")])
    assert log.key_state(key) == KeyState(exists=True, version=created.offset)
    (submitted,) = log.append([sequence(submit("a", queue="q1"), queue="q1")])
    assert log.key_state(key) == KeyState(exists=True, version=submitted.offset)
    (deleted,) = log.append([_queue_deleted("q1")])
    assert log.key_state(key) == KeyState(exists=False, version=deleted.offset)


def test_a_client_id_is_a_key_its_submission_creates(log: EventLog) -> None:
    key = client_id_key("queue-a", "c1")
    with_id = sequence(submit("a", client_id="c1"))
    (first,) = log.append([with_id], expect=[Expect(key, exists=False)])
    assert log.key_state(key) == KeyState(exists=True, version=first.offset)
    with pytest.raises(PreconditionFailed):
        log.append([with_id], expect=[Expect(key, exists=False)])


def test_an_append_whose_precondition_fails_appends_nothing(log: EventLog) -> None:
    log.append([_queue_created("q1")])
    with pytest.raises(PreconditionFailed) as failure:
        log.append([_queue_created("q1")], expect=[Expect(queue_key("q1"), exists=False)])
    assert failure.value.actual == KeyState(exists=True, version=1)
    assert log.head() == 1
    with pytest.raises(PreconditionFailed):
        log.append([_queue_deleted("q1")], expect=[Expect(queue_key("q1"), version=7)])
    assert log.head() == 1
    log.append([_queue_deleted("q1")], expect=[Expect(queue_key("q1"), exists=True, version=1)])
    assert log.key_state(queue_key("q1")).exists is False


@pytest.mark.parametrize("operation", ["create", "delete"])
def test_of_concurrent_appenders_expecting_one_state_exactly_one_succeeds(
    make_log: Factory, operation: str
) -> None:
    """Each thread opens the store anew (for SQLite: its own connections, as separate
    processes would have), so only the store's own transaction can serialise them."""
    key = queue_key("q1")
    if operation == "delete":
        make_log().append([_queue_created("q1")])
    change, expect = (
        (_queue_created("q1"), Expect(key, exists=False))
        if operation == "create"
        else (_queue_deleted("q1"), Expect(key, exists=True))
    )
    logs = [make_log() for _ in range(20)]
    start = threading.Barrier(len(logs))
    outcomes: list[str] = []

    def attempt(log: EventLog) -> None:
        start.wait(timeout=30)
        try:
            log.append([change], expect=[expect])
            outcomes.append("ok")
        except PreconditionFailed:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(log,)) for log in logs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["ok"] + ["refused"] * 19
    assert logs[0].key_state(key).exists is (operation == "create")


def test_keys_are_built_for_a_log_written_before_they_were_kept(tmp_path: Path) -> None:
    import sqlite3

    old = SqliteEventLog(tmp_path / "old.db")
    old.append([_queue_created("q1"), _queue_created("q2"), _queue_deleted("q2")])
    old.close()
    conn = sqlite3.connect(tmp_path / "old.db")
    conn.executescript("DROP TABLE log_keys; DROP TABLE log_meta;")
    conn.close()
    reopened = SqliteEventLog(tmp_path / "old.db")
    try:
        assert reopened.key_state(queue_key("q1")) == KeyState(exists=True, version=1)
        assert reopened.key_state(queue_key("q2")) == KeyState(exists=False, version=3)
    finally:
        reopened.close()


# --- retention -----------------------------------------------------------------------------


def test_pruning_deletes_one_job_sets_oldest_entries_and_keeps_offsets(make_log: Factory) -> None:
    log = make_log()
    log.append([sequence(submit(f"a{i}"), job_set="old") for i in range(5)])
    log.append([sequence(submit("b"), job_set="new"), sequence(submit("c"), job_set="old")])
    assert log.prune("queue-a", "old", up_to=4, limit=3) == 3
    assert log.prune("queue-a", "old", up_to=4, limit=3) == 1, "only up to the given offset"
    assert [e.offset for e in log.read(0, 10)] == [5, 6, 7]
    assert [e.offset for e in log.read(0, 2)] == [5, 6], "a page is full despite the gaps"
    assert [e.offset for e in log.read_job_set("queue-a", "old", 0, 10)] == [5, 7]
    assert log.prune("queue-a", "old", up_to=10, limit=10) == 2
    assert log.head() == 7, "the head stays when the newest entry goes"
    assert [e.offset for e in log.append([sequence(submit("d"))])] == [8], "never reused"
    assert log.prune("queue-a", "set-1", up_to=10, limit=10) == 1
    reopened = make_log()
    assert reopened.head() == 8 and reopened.read(0, 10) == log.read(0, 10) != []
    log.prune("queue-a", "new", up_to=10, limit=10)
    assert not log.job_set_exists("queue-a", "new")


def test_dropped_keys_read_as_never_touched(log: EventLog) -> None:
    key = client_id_key("queue-a", "c1")
    log.append([sequence(submit("a", client_id="c1"))])
    log.drop_keys([key])
    assert log.key_state(key) == KeyState(exists=False, version=0)
    log.append([sequence(submit("b", client_id="c1"))], expect=[Expect(key, exists=False)])

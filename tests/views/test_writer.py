"""The views' writer: this process's job appends reach the views off the appender's path, its
reads of the jobs wait for them (read-your-writes), its reads of queues never wait."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest

from armada.config.server import StorageSettings
from armada.domain import events as ev
from armada.domain.events import LogEntry
from armada.domain.queues import Queue
from armada.views.storage import Storage, open_storage
from armada.views.writer import MAX_WAITING, ViewWriter
from armada.waiting import wait_until
from tests.builders import sequence, submit


def entries(first: int, count: int = 1) -> list[LogEntry]:
    return [
        LogEntry(offset=offset, sequence=sequence(submit(f"j{offset}")))
        for offset in range(first, first + count)
    ]


class Held:
    """A catch-up that records what it is given and waits to be let go."""

    def __init__(self) -> None:
        self.given: list[list[int]] = []
        self.go = threading.Event()

    def __call__(self, appended: Sequence[LogEntry]) -> None:
        self.given.append([entry.offset for entry in appended])
        assert self.go.wait(30)


def test_waiting_readers_return_once_what_was_handed_over_is_applied() -> None:
    held = Held()
    writer = ViewWriter(held)
    assert writer.hand_over(entries(1))
    waited = threading.Event()
    reader = threading.Thread(target=lambda: (writer.wait(), waited.set()))
    reader.start()
    wait_until(lambda: held.given, what="the writer to start")
    assert not waited.wait(0.2), "the reader waits while the writer applies"
    held.go.set()
    reader.join(30)
    assert waited.is_set()
    writer.close()


def test_batches_waiting_together_are_applied_in_one_go_and_room_is_bounded() -> None:
    held = Held()
    writer = ViewWriter(held)
    assert writer.hand_over(entries(1))
    wait_until(lambda: held.given, what="the writer to start")
    for offset in range(2, 2 + MAX_WAITING):
        assert writer.hand_over(entries(offset))
    blocked = threading.Thread(target=writer.hand_over, args=(entries(2 + MAX_WAITING),))
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive(), "an appender beyond the room waits for it"
    held.go.set()
    blocked.join(30)
    writer.wait()
    writer.close()
    assert held.given[0] == [1]
    assert held.given[1] == list(range(2, 2 + MAX_WAITING)), "the waiting ones together"
    assert held.given[-1][-1] == 2 + MAX_WAITING


def test_batches_with_others_appends_between_them_leave_the_gaps_to_the_log() -> None:
    held = Held()
    writer = ViewWriter(held)
    assert writer.hand_over(entries(1))
    wait_until(lambda: held.given, what="the writer to start")
    assert writer.hand_over(entries(5))
    assert writer.hand_over(entries(3))  # handed over out of order, another process's 4
    held.go.set()
    writer.wait()
    writer.close()
    assert held.given == [[1], [5]], "the newest alone: the catch-up reads 2 to 4"
    assert not writer.hand_over(entries(6)), "closed: the appender applies it"


@pytest.fixture
def storage() -> Iterator[Storage]:
    opened = open_storage(StorageSettings(event_log="memory"))
    yield opened
    opened.close()


def test_reads_of_jobs_wait_for_this_process_s_appends_reads_of_queues_do_not(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.append([sequence(ev.QueueCreated(queue=Queue(name="queue-a")), queue="", job_set="")])
    assert storage.store.get_queue("queue-a") is not None, "applied by the appender"
    go = threading.Event()
    catch_up = storage.updater.catch_up

    def held(appended: Sequence[LogEntry] = ()) -> int:
        assert go.wait(30)
        return catch_up(appended)

    monkeypatch.setattr(storage.updater, "catch_up", held)
    storage.append([sequence(submit("j1"))])  # answered before the views hold it
    found: list[object] = []
    reader = threading.Thread(target=lambda: found.append(storage.store.get_job("j1")))
    reader.start()
    reader.join(0.2)
    assert reader.is_alive(), "a read of the jobs waits for the writer"
    assert storage.store.list_queues(), "a read of the queues does not"
    go.set()
    reader.join(30)
    assert found and found[0] is not None, "read its own write"


def test_an_empty_append_hands_nothing_over() -> None:
    held = Held()
    writer = ViewWriter(held)
    assert writer.hand_over([])
    writer.wait()
    writer.close()
    assert held.given == []

"""A process-backend container's output: written straight to its file, each line stamped with
the time it was written, and kept flowing when the executor dies and another takes it back."""

from __future__ import annotations

import time
from pathlib import Path

from armada.executor.logtext import parse_rfc3339
from armada.executor.procstamps import OutputStamps, stamped_lines
from armada.waiting import wait_until_async
from tests.executor.test_process_backend import cluster_in, final, plan, until_running
from tests.executor.test_process_restart import crash, first_snapshot


def test_a_line_has_the_time_of_the_first_note_covering_it(tmp_path: Path) -> None:
    log, stamps = tmp_path / "c.log", tmp_path / "c.stamps"
    log.write_bytes(b"one\ntwo\nthree\nfour")
    # Notes as two writers could leave them: out of order, one torn by a crash.
    stamps.write_text("8 20.0\n4 10.0\n14 30.0\n4 25.0\n9")
    lines = stamped_lines(log, stamps, now=99.0)
    assert [line.line for line in lines] == ["one", "two", "three", "four"]
    assert [parse_rfc3339(line.timestamp) for line in lines] == [10.0, 20.0, 30.0, 99.0]


def test_notes_are_written_only_when_the_output_grew(tmp_path: Path) -> None:
    log, stamps = tmp_path / "c.log", tmp_path / "c.stamps"
    noted = OutputStamps()
    noted.note([(log, stamps)], 1.0)  # no output yet: nothing to note, no file
    assert not stamps.exists()
    log.write_text("a\n")
    noted.note([(log, stamps)], 2.0)
    noted.note([(log, stamps)], 3.0)
    with log.open("a") as out:
        out.write("b\n")
    noted.note([(log, stamps)], 4.0)
    assert stamps.read_text() == "2 2.000000\n4 4.000000\n"


async def test_each_line_has_the_time_it_was_written(tmp_path: Path) -> None:
    cluster = cluster_in(tmp_path)
    began = time.time()
    await cluster.create_run(plan("j1", ["sh", "-c", "echo one; sleep 2; echo two"]))
    await final(cluster, "j1")
    one, two = await cluster.read_log("default", "armada-j1-0")
    first, second = parse_rfc3339(one.timestamp), parse_rfc3339(two.timestamp)
    assert began - 0.01 <= first, first - began
    assert 1 <= second - first <= 5, f"two seconds apart, as written (not as read): {one}, {two}"
    again = await cluster.read_log("default", "armada-j1-0")
    assert again == [one, two], "a line's time never changes"
    await cluster.close()


async def test_output_keeps_flowing_to_a_pod_taken_back(tmp_path: Path) -> None:
    go = tmp_path / "go"
    script = f"echo before; while [ ! -e {go} ]; do sleep 0.01; done; echo after"
    before = cluster_in(tmp_path)
    await before.create_run(plan("j1", ["sh", "-c", script]))
    await until_running(before, "j1")
    log = before.log_path("default", "armada-j1-0")
    await wait_until_async(lambda: log.read_text() == "before\n", timeout=5, what="output")
    await crash(before)
    go.touch()  # the job writes while no executor runs
    await wait_until_async(lambda: log.read_text() == "before\nafter\n", timeout=5, what="after")

    after = cluster_in(tmp_path)
    (pod,) = await first_snapshot(after)
    assert pod.phase in ("Running", "Succeeded")
    assert (await final(after, "j1")).phase == "Succeeded"
    lines = await after.read_log("default", "armada-j1-0")
    assert [line.line for line in lines] == ["before", "after"]
    assert parse_rfc3339(lines[0].timestamp) <= parse_rfc3339(lines[1].timestamp)
    await after.close()
    await before.close()  # reaps what the dead executor started (this test's children)

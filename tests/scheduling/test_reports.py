"""Reports render what the rounds decided, in words."""

from __future__ import annotations

from collections.abc import Callable

from armada.domain.queues import Queue
from armada.scheduling.reports import ReportHistory, job_report, queue_report, scheduling_report
from tests.scheduling.world import World, node

MakeWorld = Callable[..., World]


def test_reports_tell_what_happened_and_why(make_world: MakeWorld) -> None:
    w = make_world([node("n0", cpu=4)], [Queue(name="a"), Queue(name="b")])
    history = ReportHistory(rounds_kept=2)
    assert scheduling_report(history) == "No scheduling round has run yet."
    low = w.submit("a", 4, priority_class="armada-preemptible")
    history.record(w.round())
    w.submit("b", 6, priority_class="armada-preemptible")
    history.record(w.round())

    brief = scheduling_report(history)
    assert "Pool default" in brief and "preempted 2 jobs" in brief and "queue a" not in brief
    detailed = scheduling_report(history, verbosity=2)
    assert "queue b: weight 1, fair share 50.0%" in detailed
    assert "3 jobs: job does not fit on any node" in detailed

    assert "cycle 2: scheduled 2, preempted 0" in queue_report(history, "b")
    snap = w.db.read()
    waiting = next(snap.queued("b"))
    text = job_report(history, waiting.job_id, "b", snap.key_of(waiting).id)
    assert "not scheduled: pool default: job does not fit on any node" in text
    preempted = history.rounds[-1].preemptions[0].job_id
    assert "preempted to restore fair share" in job_report(history, preempted, "a", 0)
    kept = next(j for j in low if j not in {p.job_id for p in history.rounds[-1].preemptions})
    assert "cycle 1: scheduled on node n0" in job_report(history, kept, "a", 0)

    for _ in range(2):
        history.record(w.round())
    assert len(history.rounds) == 2
    assert "was not considered in the last 2 rounds" in job_report(history, kept, "a", 0)


def test_the_capacity_is_shown_as_the_nodes_offer_it_and_the_rounding_is_said(
    make_world: MakeWorld,
) -> None:
    """Issue 14.4: four 256Gi nodes were reported as memory=1048400Mi, with no word of why
    (each node is rounded down to the 100Mi resolution of indexedResources, as in Armada)."""
    w = make_world([node(f"n{i}", cpu=32, memory_gi=256) for i in range(4)], [Queue(name="a")])
    history = ReportHistory()
    w.submit("a", 1)
    history.record(w.round())
    line = next(x for x in scheduling_report(history).splitlines() if "capacity" in x)
    assert "capacity cpu=128, memory=1Ti (schedulable after rounding each node down" in line
    assert "resolution: memory=1048400Mi)" in line
    exact = make_world([node("n0", cpu=4, memory_gi=100)], [Queue(name="a")])
    history = ReportHistory()
    exact.submit("a", 1)
    history.record(exact.round())
    assert "rounding" not in scheduling_report(history)

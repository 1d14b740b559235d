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

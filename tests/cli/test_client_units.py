"""Pure parts of the client: queue selection, job set state, timestamps, the load plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from armada_client.armada import event_pb2, submit_pb2
from hypothesis import given
from hypothesis import strategies as st

from armada.cli.armadactl.loadtest import Plan, sleep_job, submit_plan
from armada.client import JobSetEvent, JobSetState, QueueQuery
from armada.client.logs import timestamp_key

labels = st.dictionaries(
    st.sampled_from(["team", "tier", "zone"]), st.sampled_from("abc"), max_size=3
)
queues = st.lists(
    st.builds(
        lambda name, tags, c: submit_pb2.Queue(name=name, labels=tags, cordoned=c),
        st.sampled_from(["q1", "q2", "q3", "q4"]),
        labels,
        st.booleans(),
    ),
    max_size=6,
)


@given(queues, st.lists(st.sampled_from(["q1", "q2", "q5"]), max_size=2), labels, st.booleans())
def test_inverse_selects_exactly_the_rest(
    all_queues: list[submit_pb2.Queue], names: list[str], wanted: dict[str, str], cordoned: bool
) -> None:
    query = QueueQuery(names=tuple(names), labels=wanted, only_cordoned=cordoned)
    inverse = QueueQuery(names=tuple(names), labels=wanted, only_cordoned=cordoned, inverse=True)
    chosen, rest = query.select(all_queues), inverse.select(all_queues)
    assert len(chosen) + len(rest) == len(all_queues)
    for queue in chosen:
        assert not names or queue.name in names
        assert all(queue.labels.get(k) == v for k, v in wanted.items())
        assert queue.cordoned or not cordoned


def event(kind: str, job_id: str, message_id: str = "1:0", **fields: object) -> JobSetEvent:
    message = event_pb2.EventStreamMessage(id=message_id)
    getattr(message.message, kind).job_id = job_id
    for name, value in fields.items():
        setattr(getattr(message.message, kind), name, value)
    return JobSetEvent.from_proto(message)


def test_job_set_state_counts_and_finishes() -> None:
    state = JobSetState()
    assert not state.finished  # nothing seen yet
    for kind, job in [("submitted", "a"), ("queued", "a"), ("submitted", "b"), ("leased", "b")]:
        state.apply(event(kind, job))
    assert (state.counts["Queued"], state.counts["Leased"]) == (1, 1)
    state.apply(event("failed", "a", retryable=True))  # a retry follows: back in the queue
    state.apply(event("cancelling", "b"))  # no change of state
    assert state.summary().startswith("Queued:   1, Leased:   1,")
    state.apply(event("cancelled", "b"))
    assert not state.finished
    state.apply(event("failed", "a", reason="OOMKilled"))
    assert state.finished and state.counts["Failed"] == 1 and state.counts["Queued"] == 0


def test_event_lines() -> None:
    failed = event("failed", "j1", "4:2", reason="out of memory", cluster_id="c1", retryable=True)
    assert failed.title == "Failed"
    assert failed.line() == '- Failed j1 cluster=c1 reason="out of memory" retryable=true'
    assert event("lease_returned", "j").title == "LeaseReturned"
    data = failed.to_dict()
    assert (data["messageId"], data["type"], data["event"]["reason"]) == (
        "4:2",
        "Failed",
        "out of memory",
    )


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(0, 10**9 - 1),
    st.integers(0, 10**9 - 1),
)
def test_timestamps_order_by_time_whatever_their_precision(
    moment: datetime, first: int, second: int
) -> None:
    def text(nanos: int) -> str:
        digits = f"{nanos:09d}".rstrip("0")  # RFC 3339 with trailing zeros trimmed, as Go writes
        stamp = moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{stamp}.{digits}Z" if digits else f"{stamp}Z"

    a, b = timestamp_key(text(first)), timestamp_key(text(second))
    assert a is not None and b is not None
    assert (a < b) == (first < second) and (a == b) == (first == second)
    later = timestamp_key((moment.replace(microsecond=0) + timedelta(seconds=1)).isoformat())
    assert later is not None and later > a
    assert timestamp_key("not a time") is None


def test_the_plan_spreads_jobs_round_robin_in_batches() -> None:
    streams = [("q0", "s0"), ("q0", "s1"), ("q1", "s0")]
    plan = Plan(jobs=10, streams=streams, templates=["t0", "t1"], batch_size=2, rate=0)
    batches = plan.batches()
    assert [(q, s, len(items)) for q, s, items in batches] == [
        ("q0", "s0", 2), ("q0", "s1", 2), ("q1", "s0", 2),
        ("q0", "s0", 2), ("q0", "s1", 1), ("q1", "s0", 1),
    ]  # fmt: skip
    assert [t for _, _, items in batches for t in items] == ["t0", "t1"] * 5


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_rate_is_never_exceeded() -> None:
    time = FakeTime()
    calls: list[tuple[float, int]] = []

    def submit(queue: str, job_set: str, items: list[object]) -> None:
        calls.append((time.now, len(items)))
        time.now += 0.01  # each request takes 10 ms

    plan = Plan(jobs=1000, streams=[("q", "s")], templates=[sleep_job(1)], batch_size=100, rate=500)
    outcome = submit_plan(submit, plan, clock=time.clock, sleep=time.sleep)
    assert outcome.submitted == sum(n for _, n in calls) == 1000
    for sent, (start, _) in enumerate(calls):
        assert start >= sent * 100 / 500 - 1e-9  # no batch before the rate allows it
    assert 1.8 <= outcome.submit_seconds <= 1.9
    unlimited = Plan(jobs=1000, streams=[("q", "s")], templates=["t"], batch_size=100, rate=0)
    assert submit_plan(submit, unlimited, clock=time.clock, sleep=time.sleep).submit_seconds < 0.2

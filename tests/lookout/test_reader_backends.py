"""The Lookout API's queries answer the same on SQLite and PostgreSQL (their SQL differs for
text matches, and pages filtered by several states take a query per state)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from armada.domain import events as ev
from armada.lookout.api import LookoutReader
from armada.lookout.api.query import branches, order_by, where
from armada.lookout.api.reader import _is_sqlite
from armada.lookout.api.requests import BadRequest, GetJobsRequest, GroupJobsRequest, decode
from armada.views.storage import Storage, open_storage
from tests.builders import sequence, submit
from tests.views.test_store_contract import settings_for


@pytest.fixture(params=["sqlite", "postgres"])
def reader(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LookoutReader]:
    with ExitStack() as stack:
        storage: Storage = open_storage(settings_for(request.param, tmp_path, stack))
        stack.callback(storage.close)
        names = ["a_1", "a%1", "A_2", "b*1", "b[1"]
        storage.append(
            [
                sequence(
                    submit(f"j{i}", job_set=name, annotations={"k": name}),
                    job_set=name,
                    created=1_700_000_000.0 + i,
                )
                for i, name in enumerate(names)
            ]
            + [
                sequence(
                    ev.JobRunLeased(job_id="j1", run_id="r1", executor="c", node="n", pool="p"),
                    ev.CancelJob(job_id="j3"),
                    ev.CancelledJob(job_id="j3"),
                    created=1_700_000_100.0,
                )
            ]
        )
        yield LookoutReader(storage.store, lambda: 1_700_000_200.0)


def jobs(reader: LookoutReader, **body: Any) -> list[str]:
    request = decode(json.dumps(body).encode(), GetJobsRequest)
    return [job["jobId"] for job in reader.jobs(request)["jobs"]]


def text(field: str, match: str, value: str, annotation: bool = False) -> dict[str, Any]:
    return {"field": field, "match": match, "value": value, "isAnnotation": annotation}


def test_text_matches_are_literal_and_case_sensitive(reader: LookoutReader) -> None:
    assert jobs(reader, filters=[text("jobSet", "startsWith", "a_")]) == ["j0"]
    assert jobs(reader, filters=[text("jobSet", "startsWith", "a%")]) == ["j1"]
    assert jobs(reader, filters=[text("jobSet", "contains", "_")]) == ["j0", "j2"]
    assert jobs(reader, filters=[text("jobSet", "contains", "*")]) == ["j3"]
    assert jobs(reader, filters=[text("jobSet", "contains", "[1")]) == ["j4"]
    assert jobs(reader, filters=[text("k", "startsWith", "A", True)]) == ["j2"]


def test_a_page_of_several_states_in_time_order(reader: LookoutReader) -> None:
    states = {"field": "state", "match": "anyOf", "value": ["QUEUED", "CANCELLED"]}
    newest = {"field": "submitted", "direction": "DESC"}
    assert jobs(reader, filters=[states], order=newest) == ["j4", "j3", "j2", "j0"]
    assert jobs(reader, filters=[states], order=newest, skip=1, take=2) == ["j3", "j2"]
    oldest = {"field": "submitted", "direction": "ASC"}
    assert jobs(reader, filters=[states], order=oldest, take=1) == ["j0"]
    leased = {"field": "state", "match": "anyOf", "value": ["LEASED"]}
    assert jobs(reader, filters=[leased], order=oldest) == ["j1"]


def test_groups_from_the_counts_and_from_the_rows_agree(reader: LookoutReader) -> None:
    def groups(aggregates: list[str]) -> list[tuple[str, int, dict[str, int]]]:
        body = {
            "groupedField": {"field": "state"},
            "aggregates": aggregates,
            "order": {"field": "count", "direction": "DESC"},
        }
        answer = reader.groups(decode(json.dumps(body).encode(), GroupJobsRequest))
        return [(g["name"], g["count"], g["aggregates"]["state"]) for g in answer["groups"]]

    counted = groups(["state"])  # from job_set_counts
    assert counted == groups(["state", "submitted"])  # from every job's row
    assert counted == [
        ("QUEUED", 3, {"QUEUED": 3}),
        ("LEASED", 1, {"LEASED": 1}),
        ("CANCELLED", 1, {"CANCELLED": 1}),
    ]


def test_counted_groups_page_in_sql_and_refuse_other_orders(reader: LookoutReader) -> None:
    def names(**body: Any) -> list[str]:
        request = decode(
            json.dumps({"groupedField": {"field": "jobSet"}, **body}).encode(), GroupJobsRequest
        )
        return [g["name"] for g in reader.groups(request)["groups"]]

    by_name = {"field": "jobSet", "direction": "DESC"}
    assert names(order=by_name, aggregates=["state"]) == ["b[1", "b*1", "a_1", "a%1", "A_2"]
    assert names(order=by_name, aggregates=["state"], skip=1, take=2) == ["b*1", "a_1"]
    with pytest.raises(BadRequest, match="cannot order groups by 'priority'"):
        names(order={"field": "priority", "direction": "ASC"}, aggregates=["state"])


@pytest.fixture(params=["sqlite", "postgres"])
def two_queues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LookoutReader]:
    """j0..j3 in queue-a, k0..k3 in queue-b, submitted alternately; j1 and k1 cancelled."""
    with ExitStack() as stack:
        storage: Storage = open_storage(settings_for(request.param, tmp_path, stack))
        stack.callback(storage.close)
        sequences = []
        for i in range(8):
            queue, job_id = ("queue-a", f"j{i // 2}") if i % 2 == 0 else ("queue-b", f"k{i // 2}")
            created = 1_700_000_000.0 + i
            sequences.append(
                sequence(
                    submit(job_id, queue=queue, job_set="s", submitted=created),
                    queue=queue,
                    job_set="s",
                    created=created,
                )
            )
        for queue, job_id in (("queue-a", "j1"), ("queue-b", "k1")):
            sequences.append(
                sequence(
                    ev.CancelJob(job_id=job_id),
                    ev.CancelledJob(job_id=job_id),
                    queue=queue,
                    job_set="s",
                    created=1_700_000_100.0,
                )
            )
        storage.append(sequences)
        yield LookoutReader(storage.store, lambda: 1_700_000_200.0)


def test_pages_and_groups_hold_only_the_queues_asked_for(two_queues: LookoutReader) -> None:
    """The queues a caller may watch limit the query itself: a page is a page of them."""
    reader = two_queues

    def page(queues: frozenset[str] | None, **body: Any) -> list[str]:
        request = decode(json.dumps(body).encode(), GetJobsRequest)
        return [job["jobId"] for job in reader.jobs(request, queues)["jobs"]]

    assert page(None, take=3) == ["j0", "j1", "j2"]
    assert page(frozenset({"queue-b"}), take=3) == ["k0", "k1", "k2"]
    assert page(frozenset({"queue-b"}), skip=3) == ["k3"]
    assert page(frozenset({"elsewhere"})) == []
    assert page(frozenset()) == []
    states = {"field": "state", "match": "anyOf", "value": ["QUEUED", "CANCELLED"]}
    newest = {"field": "submitted", "direction": "DESC"}
    assert page(frozenset({"queue-a"}), filters=[states], order=newest, take=3) == [
        "j3",
        "j2",
        "j1",
    ]
    assert page(frozenset({"elsewhere"}), filters=[states], order=newest) == []

    def groups(queues: frozenset[str] | None, field: str, aggregates: list[str]) -> list[Any]:
        body = {"groupedField": {"field": field}, "aggregates": aggregates}
        request = decode(json.dumps(body).encode(), GroupJobsRequest)
        return [(g["name"], g["count"]) for g in reader.groups(request, queues)["groups"]]

    for aggregates in (["state"], ["state", "submitted"]):  # from the counts, from the rows
        assert sorted(groups(None, "queue", aggregates)) == [("queue-a", 4), ("queue-b", 4)]
        assert groups(frozenset({"queue-b", "x"}), "queue", aggregates) == [("queue-b", 4)]
        assert groups(frozenset({"queue-b"}), "jobSet", aggregates) == [("s", 4)]
        assert groups(frozenset({"x"}), "queue", aggregates) == []


def test_a_queue_s_newest_jobs_come_from_an_index_not_a_sort(two_queues: LookoutReader) -> None:
    """The jobs page filtered by queue alone, newest first, walks the (queue, submitted) index
    and stops at the page's end: the (queue, state, submitted) one cannot give that order
    without a state, so every job of the queue was read and sorted (SQLite: 0.6 s for a queue
    of 60,000 jobs; bench.lookout_ui_live --prefill puts 200,000 in each queue)."""
    reader = two_queues
    body = {
        "filters": [text("queue", "exact", "queue-a")],
        "order": {"field": "submitted", "direction": "DESC"},
        "take": 2,
    }
    request = decode(json.dumps(body).encode(), GetJobsRequest)
    assert [job["jobId"] for job in reader.jobs(request)["jobs"]] == ["j3", "j2"]
    with reader.store.read() as conn:
        if _is_sqlite(conn):
            clauses = where(request.filters, False, True)
            plan = conn.execute(
                f"EXPLAIN QUERY PLAN SELECT j.record FROM jobs j{clauses.sql()}"
                f"{order_by(request.order)} LIMIT 2",
                clauses.args,
            ).fetchall()
            assert "jobs_by_queue_time" in str(plan)
            assert "TEMP B-TREE" not in str(plan)
        else:  # a migrated store has the index (its planner prefers a sort on a tiny table)
            indexes = conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'jobs'"
                " AND schemaname = current_schema()"
            ).fetchall()
            assert ("jobs_by_queue_time",) in [tuple(row) for row in indexes]


def test_pages_over_several_queues_merge_one_ordered_query_per_queue(
    two_queues: LookoutReader,
) -> None:
    """A caller who may watch a few queues (or filters ``queue anyOf``), newest first: one
    query per queue, each from the (queue, submitted) index, merged; the pages are those of
    the one query over all of them, skips included, and too many queues fall back to it."""
    reader = two_queues

    def page(queues: frozenset[str] | None, **body: Any) -> list[str]:
        request = decode(json.dumps(body).encode(), GetJobsRequest)
        return [job["jobId"] for job in reader.jobs(request, queues)["jobs"]]

    both = frozenset({"queue-a", "queue-b"})
    newest = {"field": "submitted", "direction": "DESC"}
    oldest = {"field": "submitted", "direction": "ASC"}
    assert page(both, order=newest, take=3) == ["k3", "j3", "k2"]
    assert page(both, order=newest, skip=2, take=3) == ["k2", "j2", "k1"]
    assert page(both, order=oldest, skip=5) == ["k2", "j3", "k3"]
    any_of = {"field": "queue", "match": "anyOf", "value": ["queue-b", "queue-c"]}
    assert page(None, filters=[any_of], order=newest) == ["k3", "k2", "k1", "k0"]
    assert page(frozenset({"queue-a"}), filters=[any_of], order=newest) == []
    any_of["value"] = ["queue-a", "queue-b"]
    assert page(frozenset({"queue-a", "x"}), filters=[any_of], order=newest) == [
        "j3",
        "j2",
        "j1",
        "j0",
    ]
    cancelled = {"field": "state", "match": "anyOf", "value": ["CANCELLED", "QUEUED"]}
    assert page(both, filters=[cancelled], order=newest, take=4) == ["k3", "j3", "k2", "j2"]
    job_set = text("jobSet", "exact", "s")
    assert page(both, filters=[job_set, cancelled], order=oldest, take=3) == ["j0", "k0", "j1"]
    many = frozenset({f"q{i}" for i in range(150)} | {"queue-b"})  # over MAX_BRANCHES
    assert page(many, order=newest, take=2) == ["k3", "k2"]
    exact_and_visible = text("queue", "exact", "queue-a")
    assert page(both, filters=[exact_and_visible], order=newest, take=2) == ["j3", "j2"]


@pytest.mark.parametrize("two_queues", ["sqlite"], indirect=True)
def test_each_queue_s_branch_reads_its_index_not_a_sort(two_queues: LookoutReader) -> None:
    """SQLite: every branch of a several-queue page searches (queue, submitted) in order
    (PostgreSQL chooses by its statistics, which a table this small does not have)."""
    body = {"order": {"field": "submitted", "direction": "DESC"}, "take": 2}
    request = decode(json.dumps(body).encode(), GetJobsRequest)
    with two_queues.store.read() as conn:
        split = branches(request, frozenset({"queue-a", "queue-b"}), True)
        assert split is not None and split.queues == ["queue-a", "queue-b"]
        sql, args = split.sql(order_by(request.order), 2)
        plan = str(conn.execute(f"EXPLAIN QUERY PLAN {sql}", args).fetchall())
    assert plan.count("jobs_by_queue_time") == 2, plan
    assert "SCAN j" not in plan, plan

"""The Lookout v2 API's queries over the views: a page of jobs, groups of jobs, one job's data.

Groups are counted by ``(group, state)`` in SQL, which the indexes answer without reading the
table (``jobs (job_set, state)``, ``jobs (queue, job_set, state)``...), and folded into one
group each here: the state counts, the count, and the time aggregates Armada's Lookout gives
(earliest submitted; latest, earliest or average last transition). Ordering and paging of
groups then happen on the folded groups, whose number is that of distinct values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from armada.domain.lifecycle import JobRecord, RunRecord
from armada.lookout.api.fields import AGGREGATES, LAST_TRANSITION_AGGREGATES, STATE_ORDER
from armada.lookout.api.query import (
    Where,
    branches,
    direction,
    lookup,
    only_queues,
    order_by,
    page,
    where,
)
from armada.lookout.api.requests import BadRequest, GetJobsRequest, GroupJobsRequest
from armada.lookout.api.shapes import job_json, rfc3339
from armada.lookout.api.visibility import Visible
from armada.views.store import QueryStore, decode_job

MAX_JOBS = 10_000  # a page of jobs (take 0, Armada's "all", is this many)
MAX_GROUPS = 100_000


@dataclass
class _Group:
    """One group, folded from its rows of ``(name, state, count, times...)``."""

    name: str
    count: int = 0
    states: dict[str, int] = field(default_factory=dict)
    submitted: float | None = None
    latest: float | None = None
    earliest: float | None = None
    transition_sum: float = 0.0

    def add(self, row: tuple[Any, ...]) -> None:
        _, state, count, submitted, latest, earliest, total = row
        self.count += int(count)
        self.states[state] = self.states.get(state, 0) + int(count)
        if submitted is not None:
            self.submitted = _least(self.submitted, float(submitted))
            self.earliest = _least(self.earliest, float(earliest))
            self.latest = -_least(None if self.latest is None else -self.latest, -float(latest))
            self.transition_sum += float(total)

    def transition(self, how: str) -> float | None:
        if how == "AVG":
            return self.transition_sum / self.count if self.submitted is not None else None
        return self.latest if how == "MAX" else self.earliest


def _least(old: float | None, new: float) -> float:
    return new if old is None else min(old, new)


class LookoutReader:
    """Answers the Lookout API's queries from ``store``; ``now`` gives the time (runtimes)."""

    def __init__(self, store: QueryStore, now: Callable[[], float]) -> None:
        self.store = store
        self.now = now

    def jobs(self, request: GetJobsRequest, queues: Visible = None) -> dict[str, Any]:
        """A page of the jobs matching ``request`` in ``queues`` (None: every queue)."""
        skip, take = page(request.skip, request.take, MAX_JOBS)
        order = order_by(request.order)
        with self.store.read() as conn:
            clauses = where(request.filters, request.active_job_sets, _is_sqlite(conn))
            only_queues(clauses, queues)
            split = branches(request, queues, _is_sqlite(conn))
            if split is not None:
                sql, args = split.sql(order, skip + take)
                rows = conn.execute(f"{sql} LIMIT ? OFFSET ?", [*args, take, skip]).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT j.record FROM jobs j{clauses.sql()}{order} LIMIT ? OFFSET ?",
                    [*clauses.args, take, skip],
                ).fetchall()
        now = self.now()
        return {"jobs": [job_json(decode_job(row[0]), now) for row in rows]}

    def groups(self, request: GroupJobsRequest, queues: Visible = None) -> dict[str, Any]:
        """Groups of the jobs matching ``request`` in ``queues`` (None: every queue)."""
        skip, take = page(request.skip, request.take, MAX_GROUPS)
        grouped = request.grouped_field
        aggregates = set(request.aggregates or ())
        unknown = aggregates - AGGREGATES
        if unknown:
            raise BadRequest(
                f"aggregates: {', '.join(sorted(unknown))} cannot be aggregated"
                f" (known: {', '.join(sorted(AGGREGATES))})"
            )
        how = LAST_TRANSITION_AGGREGATES.get(grouped.last_transition_time_aggregate or "average")
        if how is None:
            raise BadRequest(
                "groupedField.lastTransitionTimeAggregate must be one of"
                f" {', '.join(LAST_TRANSITION_AGGREGATES)}"
            )
        args: list[object] = []
        if grouped.is_annotation:
            name, join = "g.value", " JOIN job_annotations g ON g.job_id = j.job_id AND g.key = ?"
            args.append(grouped.field)
        else:
            column = lookup(grouped.field, "group by")
            if not column.groupable:
                raise BadRequest(f"cannot group by field {grouped.field}")
            name, join = f"j.{column.column}", ""
        times = ", NULL, NULL, NULL, NULL"
        if aggregates & {"submitted", "lastTransitionTime"}:
            times = (
                ", MIN(j.submitted), MAX(j.last_transition), MIN(j.last_transition),"
                " SUM(j.last_transition)"
            )
        elif _counted(request):
            return self._counted_groups(request, name, skip, take, queues)
        with self.store.read() as conn:
            clauses = where(request.filters, request.active_job_sets, _is_sqlite(conn))
            only_queues(clauses, queues)
            rows = conn.execute(
                f"SELECT {name}, j.state, COUNT(*){times} FROM jobs j{join}{clauses.sql()}"
                f" GROUP BY {name}, j.state",
                [*args, *clauses.args],
            ).fetchall()
        groups = _fold(rows)
        _sort(groups, request, aggregates, how)
        return {
            "groups": [_group_json(group, aggregates, how) for group in groups[skip : skip + take]]
        }

    def _counted_groups(
        self, request: GroupJobsRequest, name: str, skip: int, take: int, queues: Visible
    ) -> dict[str, Any]:
        """Groups by queue, job set or state from ``job_set_counts``: the page of groups is
        ordered and cut in SQL, then only its groups' state counts are read."""
        order = request.order
        key, way = "", ""
        if order is not None and (order.field or order.direction):
            way = direction(order)
            if order.field == "count":
                key = f" ORDER BY SUM(j.n) {way}, {name} {way}"
            elif order.field == request.grouped_field.field:
                key = f" ORDER BY {name} {way}"
            else:
                raise BadRequest(
                    f"cannot order groups by {order.field!r}: order by count, the grouped field"
                    " or an aggregate the request asks for"
                )
        with self.store.read() as conn:
            clauses = only_queues(where(request.filters, False, _is_sqlite(conn)), queues)
            names = [
                row[0]
                for row in conn.execute(
                    f"SELECT {name} FROM job_set_counts j{clauses.sql()} GROUP BY {name}"
                    f"{key} LIMIT ? OFFSET ?",
                    [*clauses.args, take, skip],
                )
            ]
            rows: list[Any] = []
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                within = Where(
                    [*clauses.conditions, f"{name} IN ({', '.join('?' * len(chunk))})"],
                    [*clauses.args, *chunk],
                )
                rows += conn.execute(
                    f"SELECT {name}, j.state, SUM(j.n), NULL, NULL, NULL, NULL"
                    f" FROM job_set_counts j{within.sql()} GROUP BY {name}, j.state",
                    within.args,
                ).fetchall()
        folded = {group.name: group for group in _fold(rows)}
        aggregates = set(request.aggregates or ())
        return {"groups": [_group_json(folded[n], aggregates, "AVG") for n in names]}

    def job(self, job_id: str) -> JobRecord:
        job = self.store.get_job(job_id)
        if job is None:
            raise NotFound(f"job {job_id!r} does not exist")
        return job

    def run(self, run_id: str) -> tuple[JobRecord, RunRecord]:
        """The run and the job it belongs to."""
        job_id = self.store.job_ids_for_runs([run_id]).get(run_id)
        job = self.store.get_job(job_id) if job_id is not None else None
        if job is not None:
            for run in job.runs:
                if run.run_id == run_id:
                    return job, run
        raise NotFound(f"run {run_id!r} does not exist")


class NotFound(Exception):
    """A job or run that does not exist: a 404."""


# Fields the job set counts have (``job_set_counts``): a grouping by them, filtered by them,
# with no time aggregate, is answered from the counts instead of every job's row.
_COUNTED = frozenset({"queue", "jobSet", "state"})


def _counted(request: GroupJobsRequest) -> bool:
    grouped = request.grouped_field
    return (
        not grouped.is_annotation
        and grouped.field in _COUNTED
        and not request.active_job_sets
        and all(f.field in _COUNTED and not f.is_annotation for f in request.filters or ())
    )


def _is_sqlite(conn: object) -> bool:
    return isinstance(conn, sqlite3.Connection)


def _fold(rows: list[Any]) -> list[_Group]:
    groups: dict[str, _Group] = {}
    for row in rows:
        group = groups.get(row[0])
        if group is None:
            group = groups[row[0]] = _Group(row[0])
        group.add(row)
    return list(groups.values())


def _sort(groups: list[_Group], request: GroupJobsRequest, aggs: set[str], how: str) -> None:
    order, grouped = request.order, request.grouped_field
    if order is None or (not order.field and not order.direction):
        return
    reverse = direction(order) == "DESC"
    key: Callable[[_Group], Any]
    if order.field == "count":
        key = _count
    elif order.field == grouped.field and not grouped.is_annotation:
        key = _name
    elif order.field == "submitted" and "submitted" in aggs:
        key = _submitted
    elif order.field == "lastTransitionTime" and "lastTransitionTime" in aggs:

        def key(group: _Group) -> Any:
            return group.transition(how) or 0.0

    else:
        raise BadRequest(
            f"cannot order groups by {order.field!r}: order by count, the grouped field or an"
            " aggregate the request asks for"
        )
    groups.sort(key=key, reverse=reverse)


def _count(group: _Group) -> Any:
    return (group.count, group.name)


def _name(group: _Group) -> Any:
    return group.name


def _submitted(group: _Group) -> Any:
    return group.submitted or 0.0


def _group_json(group: _Group, aggregates: set[str], how: str) -> dict[str, Any]:
    shape: dict[str, Any] = {}
    if "state" in aggregates:
        shape["state"] = {
            state.value: group.states[state.value]
            for state in STATE_ORDER
            if state.value in group.states
        }
    if "submitted" in aggregates and group.submitted is not None:
        shape["submitted"] = rfc3339(group.submitted)
    transition = group.transition(how)
    if "lastTransitionTime" in aggregates and transition is not None:
        shape["lastTransitionTime"] = rfc3339(transition)
    return {"name": group.name, "count": group.count, "aggregates": shape}

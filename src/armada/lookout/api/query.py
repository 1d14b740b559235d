"""Lookout filters and orders as SQL over the ``jobs`` view, in the SQL both databases speak.

Every field and match is checked against :data:`~armada.lookout.api.fields.FIELDS` before any
SQL is written; a value only ever reaches the database as a parameter. Text matches are
case-sensitive on both databases, as Armada's are: SQLite's ``LIKE`` is not, so on SQLite
``startsWith`` and ``contains`` are ``GLOB`` patterns, on PostgreSQL ``LIKE`` ones.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from armada.domain.states import JobState
from armada.lookout.api.fields import (
    ANNOTATION_MATCHES,
    FIELDS,
    Field,
    Kind,
    Match,
)
from armada.lookout.api.requests import BadRequest, Filter, Order

ACTIVE_STATES = (JobState.QUEUED, JobState.LEASED, JobState.PENDING, JobState.RUNNING)
_COMPARISONS = {
    Match.EXACT: "=",
    Match.GREATER_THAN: ">",
    Match.LESS_THAN: "<",
    Match.GREATER_THAN_OR_EQUAL_TO: ">=",
    Match.LESS_THAN_OR_EQUAL_TO: "<=",
}
MAX_ANY_OF = 1000


@dataclass
class Where:
    """``WHERE`` conditions (ANDed) and their parameters."""

    conditions: list[str] = field(default_factory=list)
    args: list[object] = field(default_factory=list)

    def add(self, condition: str, *args: object) -> None:
        self.conditions.append(condition)
        self.args.extend(args)

    def sql(self) -> str:
        return f" WHERE {' AND '.join(self.conditions)}" if self.conditions else ""


def only_queues(clauses: Where, queues: Collection[str] | None) -> Where:
    """``clauses`` with the jobs (or counts) limited to ``queues`` (None: no limit; none: no
    row at all)."""
    if queues is None:
        return clauses
    if not queues:
        clauses.add("1 = 0")
        return clauses
    names = sorted(queues)
    clauses.add(f"j.queue IN ({', '.join('?' * len(names))})", *names)
    return clauses


def lookup(name: str, what: str = "filter on") -> Field:
    found = FIELDS.get(name)
    if found is None:
        known = ", ".join(sorted(FIELDS))
        raise BadRequest(f"cannot {what} field {name!r}: it is not a column (known: {known})")
    return found


def where(filters: list[Filter] | None, active_job_sets: bool, sqlite: bool) -> Where:
    clauses = Where()
    for number, item in enumerate(filters or ()):
        try:
            _add_filter(clauses, item, sqlite)
        except BadRequest as exc:
            raise BadRequest(f"filters[{number}]: {exc}") from None
    if active_job_sets:
        marks = ", ".join("?" * len(ACTIVE_STATES))
        clauses.add(
            "EXISTS (SELECT 1 FROM jobs a WHERE a.queue = j.queue AND a.job_set = j.job_set"
            f" AND a.state IN ({marks}))",
            *(s.value for s in ACTIVE_STATES),
        )
    return clauses


def _match(item: Filter) -> Match:
    try:
        return Match(item.match)
    except ValueError:
        known = ", ".join(m.value for m in Match)
        raise BadRequest(f"match {item.match!r} is not one of {known}") from None


def _add_filter(clauses: Where, item: Filter, sqlite: bool) -> None:
    match = _match(item)
    if item.is_annotation:
        if match not in ANNOTATION_MATCHES:
            raise BadRequest(f"match {match} is not supported for annotations")
        sub = "SELECT 1 FROM job_annotations n WHERE n.job_id = j.job_id AND n.key = ?"
        if match is Match.EXISTS:
            clauses.add(f"EXISTS ({sub})", item.field)
            return
        condition, value = _text_condition("n.value", match, _text(item.value), sqlite)
        clauses.add(f"EXISTS ({sub} AND {condition})", item.field, value)
        return
    column = lookup(item.field)
    if match not in column.matches:
        raise BadRequest(f"match {match} is not supported for field {item.field}")
    name = f"j.{column.column}"
    if match is Match.ANY_OF:
        values = [_scalar(column, v) for v in _list(item.value)]
        clauses.add(f"{name} IN ({', '.join('?' * len(values))})", *values)
    elif match in _COMPARISONS:
        clauses.add(f"{name} {_COMPARISONS[match]} ?", _scalar(column, item.value))
    else:
        condition, value = _text_condition(name, match, _text(item.value), sqlite)
        clauses.add(condition, value)


def _text_condition(name: str, match: Match, value: str, sqlite: bool) -> tuple[str, str]:
    if match is Match.EXACT:
        return f"{name} = ?", value
    if sqlite:
        pattern = re.sub(r"([*?\[])", r"[\1]", value)
        pattern = f"{pattern}*" if match is Match.STARTS_WITH else f"*{pattern}*"
        return f"{name} GLOB ?", pattern
    escaped = re.sub(r"([\\%_])", r"\\\1", value)
    pattern = f"{escaped}%" if match is Match.STARTS_WITH else f"%{escaped}%"
    return f"{name} LIKE ? ESCAPE '\\'", pattern


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise BadRequest("match anyOf needs a non-empty list of values")
    if len(value) > MAX_ANY_OF:
        raise BadRequest(f"match anyOf takes at most {MAX_ANY_OF} values, got {len(value)}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"the value must be a string, got {type(value).__name__}")
    return value


def _scalar(column: Field, value: Any) -> object:
    if column.kind is Kind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadRequest(f"the value must be a number, got {type(value).__name__}")
        return value
    if column.kind is Kind.TIME:
        return parse_time(value)
    text = _text(value)
    if column.kind is Kind.STATE and text not in JobState.__members__:
        raise BadRequest(f"{text!r} is not a job state ({', '.join(JobState.__members__)})")
    return text


def parse_time(value: Any) -> float:
    """An RFC 3339 time (as Armada's Lookout UI sends them) as seconds since the epoch."""
    try:
        moment = datetime.fromisoformat(_text(value))
    except ValueError:
        raise BadRequest(f"{value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise BadRequest(f"{value!r} has no time zone (use Z or an offset)")
    return moment.timestamp()


def direction(order: Order) -> str:
    if order.direction not in ("ASC", "DESC"):
        raise BadRequest(f"order.direction {order.direction!r} is not ASC or DESC")
    return order.direction


def order_by(order: Order | None) -> str:
    """The jobs page's ``ORDER BY``: the field, then the job id where the field has ties
    (times have almost none, and a second key would cost the index its order)."""
    if order is None or (not order.field and not order.direction):
        return " ORDER BY j.job_id"
    column = lookup(order.field, "order by")
    if not column.orderable:
        raise BadRequest(f"cannot order by field {order.field}")
    way = direction(order)
    if column.kind is Kind.TIME or column.column == "job_id":
        return f" ORDER BY j.{column.column} {way}"
    return f" ORDER BY j.{column.column} {way}, j.job_id {way}"


MAX_BRANCHES = 100  # ordered branches of one page (SQLite allows 500 in a compound query)


@dataclass
class Branches:
    """A page ordered by a time and limited to a few queues (the caller's visible queues, or
    a ``queue anyOf`` filter) or states (``state anyOf``), as one ordered, limited query per
    queue and state merged by ``UNION ALL``: each follows the ``(queue, state, time)``,
    ``(queue, time)`` or ``(state, time)`` index and stops at the page's end, where one query
    with ``IN (...)`` would read every match and sort them (or walk the time index past the
    other queues' and states' jobs)."""

    rest: Where
    queues: list[object] | None
    states: list[object] | None
    column: str

    def sql(self, order: str, limit: int) -> tuple[str, list[object]]:
        branch = "SELECT record, k FROM (SELECT j.record, j.{col} AS k FROM jobs j{where}{order}"
        branch += " LIMIT ?) b{n}"
        parts, args = [], []
        for n, (queue, state) in enumerate(self._pairs()):
            conditions = Where(list(self.rest.conditions), list(self.rest.args))
            if queue is not None:
                conditions.add("j.queue = ?", queue)
            if state is not None:
                conditions.add("j.state = ?", state)
            parts.append(branch.format(col=self.column, where=conditions.sql(), order=order, n=n))
            args.extend([*conditions.args, limit])
        way = order.rsplit(" ", 1)[-1]
        return " UNION ALL ".join(parts) + f" ORDER BY 2 {way}", args

    def _pairs(self) -> list[tuple[object | None, object | None]]:
        return [(q, s) for q in self.queues or [None] for s in self.states or [None]]


def branches(request: Any, queues: Collection[str] | None, sqlite: bool) -> Branches | None:
    """:class:`Branches` for ``request`` seen by a caller limited to ``queues`` (None: every
    queue) when it is such a page, else None (then the page is one query)."""
    order, filters = request.order, request.filters or []
    if order is None or not order.field or FIELDS.get(order.field, _NONE).kind is not Kind.TIME:
        return None
    if queues is not None and not queues:
        return None  # nothing is visible: the one query says so at once
    state_any = _one_any_of(filters, "state")
    queue_any = _one_any_of(filters, "queue")
    states = None
    if state_any is not None:
        states = list(dict.fromkeys(_scalar(FIELDS["state"], v) for v in _list(state_any.value)))
    names: list[object] | None = None
    if queue_any is not None:
        names = list(dict.fromkeys(_scalar(FIELDS["queue"], v) for v in _list(queue_any.value)))
    if queues is not None:
        names = [q for q in names or sorted(queues) if q in queues]
        if not names:
            return None
    if names is not None and len(names) * len(states or [None]) > MAX_BRANCHES:
        names, queue_any = None, None  # too many: the queues stay a condition of each branch
    if names is not None and any(f.field == "queue" and f is not queue_any for f in filters):
        names, queue_any = None, None  # another queue filter already picks the index
    if (names is None and states is None) or len(states or ()) > MAX_BRANCHES:
        return None
    taken = [f for f in (state_any, queue_any if names is not None else None) if f is not None]
    rest = where([f for f in filters if f not in taken], request.active_job_sets, sqlite)
    if names is None:
        only_queues(rest, queues)
    return Branches(rest, names, states, FIELDS[order.field].column)


def _one_any_of(filters: list[Any], name: str) -> Any:
    """The filter ``name anyOf [...]`` when it is the only filter on that field, else None."""
    on_field = [f for f in filters if f.field == name and not f.is_annotation]
    if len(on_field) != 1 or on_field[0].match != Match.ANY_OF.value:
        return None
    return on_field[0]


_NONE = Field("", Kind.TEXT, frozenset())


def page(skip: int, take: int, limit: int) -> tuple[int, int]:
    """``skip`` and ``take`` checked; ``take`` 0 means as many as ``limit`` (Armada: all)."""
    if skip < 0 or take < 0:
        raise BadRequest("skip and take must not be negative")
    if take > limit:
        raise BadRequest(f"take is at most {limit}, got {take}")
    return skip, take or limit

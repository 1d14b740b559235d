"""The fields of Armada's Lookout v2 API, and what each one allows.

A field names a column of the ``jobs`` view (``cluster``, ``node`` and ``pool`` are those of
the job's latest run; Armada's Lookout matches them against any run). Which matches a field
accepts, and whether it can order or group, follow Armada's ``repository/tables.go``, with a
few additions where the view makes them free (ordering by priority, ranges on
``lastTransitionTime``, ``anyOf`` on job sets).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from armada.domain.states import JobState


class Match(enum.StrEnum):
    EXACT = "exact"
    ANY_OF = "anyOf"
    STARTS_WITH = "startsWith"
    CONTAINS = "contains"
    GREATER_THAN = "greaterThan"
    LESS_THAN = "lessThan"
    GREATER_THAN_OR_EQUAL_TO = "greaterThanOrEqualTo"
    LESS_THAN_OR_EQUAL_TO = "lessThanOrEqualTo"
    EXISTS = "exists"


class Kind(enum.Enum):
    TEXT = "text"
    NUMBER = "number"
    TIME = "time"
    STATE = "state"


RANGES = frozenset(
    {
        Match.GREATER_THAN,
        Match.LESS_THAN,
        Match.GREATER_THAN_OR_EQUAL_TO,
        Match.LESS_THAN_OR_EQUAL_TO,
    }
)
_TEXT = frozenset({Match.EXACT, Match.STARTS_WITH, Match.CONTAINS})
_NUMBER = frozenset({Match.EXACT, *RANGES})
ANNOTATION_MATCHES = frozenset({*_TEXT, Match.EXISTS})
# The states in the order Armada's Lookout lists them (group state counts use it).
STATE_ORDER = (
    JobState.QUEUED,
    JobState.LEASED,
    JobState.PENDING,
    JobState.RUNNING,
    JobState.SUCCEEDED,
    JobState.FAILED,
    JobState.CANCELLED,
    JobState.PREEMPTED,
    JobState.REJECTED,
)


@dataclass(frozen=True)
class Field:
    column: str
    kind: Kind
    matches: frozenset[Match]
    orderable: bool = False
    groupable: bool = False


FIELDS: dict[str, Field] = {
    "jobId": Field("job_id", Kind.TEXT, frozenset({Match.EXACT, Match.ANY_OF}), orderable=True),
    "queue": Field("queue", Kind.TEXT, _TEXT | {Match.ANY_OF}, orderable=True, groupable=True),
    "jobSet": Field("job_set", Kind.TEXT, _TEXT | {Match.ANY_OF}, orderable=True, groupable=True),
    "owner": Field("owner", Kind.TEXT, _TEXT, groupable=True),
    "namespace": Field("namespace", Kind.TEXT, _TEXT, groupable=True),
    "state": Field(
        "state", Kind.STATE, frozenset({Match.EXACT, Match.ANY_OF}), orderable=True, groupable=True
    ),
    "cpu": Field("cpu", Kind.NUMBER, _NUMBER),
    "memory": Field("memory", Kind.NUMBER, _NUMBER),
    "ephemeralStorage": Field("ephemeral_storage", Kind.NUMBER, _NUMBER),
    "gpu": Field("gpu", Kind.NUMBER, _NUMBER),
    "priority": Field("priority", Kind.NUMBER, _NUMBER, orderable=True),
    "submitted": Field("submitted", Kind.TIME, RANGES, orderable=True),
    "lastTransitionTime": Field("last_transition", Kind.TIME, RANGES, orderable=True),
    "priorityClass": Field("priority_class", Kind.TEXT, _TEXT, groupable=True),
    "cluster": Field("executor", Kind.TEXT, frozenset({Match.EXACT}), groupable=True),
    "node": Field("node", Kind.TEXT, frozenset({Match.EXACT}), groupable=True),
    "pool": Field("pool", Kind.TEXT, frozenset({Match.EXACT, Match.ANY_OF}), groupable=True),
}

# Aggregates a group can carry (Armada's groupAggregates), by field.
AGGREGATES = frozenset({"state", "submitted", "lastTransitionTime"})
LAST_TRANSITION_AGGREGATES = {"latest": "MAX", "earliest": "MIN", "average": "AVG"}

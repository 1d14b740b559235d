"""Who did what to a job, from its job set's events: who submitted it and who asked to
reprioritise, cancel or preempt it (each event carries the requestor the server recorded)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Event kind -> what was done; the requestor is in ``requestor`` (the owner for submissions).
_AUDITED = {
    "submitted": "submitted",
    "reprioritizing": "reprioritised",
    "cancelling": "cancelled",
    "preempting": "preemption requested",
}


@dataclass(frozen=True)
class AuditEntry:
    action: str
    user: str
    at: str
    """ISO 8601 time of the event ("" if it carried none)."""

    def to_dict(self) -> dict[str, str]:
        return {"action": self.action, "user": self.user, "at": self.at}


def audit_by_job(messages: Iterable[Any], job_ids: Iterable[str]) -> dict[str, list[AuditEntry]]:
    """Job id -> its audited actions, oldest first, from a job set's ``EventStreamMessage``s."""
    wanted = set(job_ids)
    trail: dict[str, list[AuditEntry]] = {}
    for message in messages:
        kind = message.message.WhichOneof("events")
        if kind not in _AUDITED:
            continue
        event = getattr(message.message, kind)
        if event.job_id not in wanted:
            continue
        user = event.job.owner if kind == "submitted" else event.requestor
        at = ""
        if event.HasField("created"):
            at = event.created.ToJsonString()
        trail.setdefault(event.job_id, []).append(AuditEntry(_AUDITED[kind], user, at))
    return trail

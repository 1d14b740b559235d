"""Following a job set: its events as plain values, the state of its jobs, and a stream that
resumes where it left off when the connection drops.

Armada's event stream is resumable: every message has an id, and asking again with
``from_message_id`` continues strictly after it. :class:`JobSetFollower` uses that to survive a
server restart or a network blip without losing or repeating an event.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from armada.client.api import Client
from armada.client.errors import ServerUnreachable
from armada.client.event_streams import EventStream
from armada.client.yaml_messages import message_to_document

QUEUED, LEASED, PENDING, RUNNING = "Queued", "Leased", "Pending", "Running"
SUCCEEDED, FAILED, CANCELLED, PREEMPTED = "Succeeded", "Failed", "Cancelled", "Preempted"
STATES = (QUEUED, LEASED, PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, PREEMPTED)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, PREEMPTED})

_STATE_AFTER = {
    "submitted": QUEUED,
    "queued": QUEUED,
    "leased": LEASED,
    "lease_returned": QUEUED,  # the job goes back to the queue
    "lease_expired": QUEUED,  # likewise, unless a Failed event follows
    "pending": PENDING,
    "running": RUNNING,
    "succeeded": SUCCEEDED,
    "failed": FAILED,
    "cancelled": CANCELLED,
    "preempted": PREEMPTED,
}

# Fields worth showing for each event, and the short names they are shown under.
_DETAILS = {
    "leased": ("cluster_id", "pool"),
    "lease_returned": ("cluster_id", "reason", "run_attempted"),
    "pending": ("cluster_id", "pod_name"),
    "running": ("cluster_id", "node_name", "pod_name"),
    "succeeded": ("cluster_id", "node_name"),
    "failed": ("cluster_id", "node_name", "reason", "cause", "failure_category", "retryable"),
    "cancelling": ("requestor", "reason"),
    "cancelled": ("requestor", "reason"),
    "preempting": ("requestor", "reason"),
    "preempted": ("cluster_id", "reason", "preempting_job_id", "requestor"),
    "reprioritizing": ("new_priority", "requestor"),
    "reprioritized": ("new_priority", "requestor"),
    "ingress_info": ("node_name", "ingress_addresses"),
}
_SHORT = {
    "cluster_id": "cluster",
    "node_name": "node",
    "pod_name": "pod",
    "new_priority": "priority",
    "failure_category": "category",
    "preempting_job_id": "by",
}


def _value_text(value: Any) -> str:
    if hasattr(value, "items"):
        value = ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return json.dumps(text) if (" " in text or not text) else text


@dataclass(frozen=True)
class JobSetEvent:
    """One event of a job set: which kind (the ``EventMessage`` field name), for which job."""

    message_id: str
    kind: str
    job_id: str
    created: datetime | None
    event: Any
    """The event message itself (``api.JobFailedEvent`` ...)."""

    @classmethod
    def from_proto(cls, message: Any) -> JobSetEvent:
        kind = message.message.WhichOneof("events") or "unknown"
        event = getattr(message.message, kind, None)
        created = None
        if event is not None and event.HasField("created"):
            created = event.created.ToDatetime(tzinfo=UTC)
        return cls(
            message_id=message.id,
            kind=kind,
            job_id=getattr(event, "job_id", ""),
            created=created,
            event=event,
        )

    @property
    def title(self) -> str:
        """``LeaseReturned`` for ``lease_returned``: the event type as Armada names it."""
        return "".join(part.capitalize() for part in self.kind.split("_"))

    @property
    def state(self) -> str | None:
        """The job's state after this event, if the event changes it."""
        if self.kind == "failed" and getattr(self.event, "retryable", False):
            return QUEUED
        return _STATE_AFTER.get(self.kind)

    def details(self) -> str:
        """``key=value`` pairs worth a glance (cluster, node, reason, ...)."""
        parts = []
        if self.kind == "submitted":
            job = self.event.job
            parts.append(f"priority={_value_text(job.priority)}")
        for name in _DETAILS.get(self.kind, ()):
            value = getattr(self.event, name, None)
            if name == "cause" and value:
                value = (
                    self.event.DESCRIPTOR.fields_by_name["cause"]
                    .enum_type.values_by_number[value]
                    .name
                )
            if value not in (None, "", 0, False) and not (hasattr(value, "items") and not value):
                parts.append(f"{_SHORT.get(name, name)}={_value_text(value)}")
        if self.kind == "failed":
            codes = [f"{s.name}:{s.exitCode}" for s in self.event.container_statuses]
            if codes:
                parts.append("exit=" + ",".join(codes))
        return " ".join(parts)

    def time_text(self) -> str:
        if self.created is None:
            return "-"
        return self.created.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def line(self) -> str:
        """``<time> <event type> <job id> <details>``: one event on one line."""
        return " ".join(p for p in (self.time_text(), self.title, self.job_id, self.details()) if p)

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data: id, type, job id, time and the event's own fields."""
        body = message_to_document(self.event) if self.event is not None else {}
        return {
            "messageId": self.message_id,
            "type": self.title,
            "jobId": self.job_id,
            "created": self.time_text(),
            "event": body,
        }


class JobSetState:
    """The state of every job seen in a job set, and how many jobs are in each state."""

    def __init__(self) -> None:
        self.jobs: dict[str, str] = {}
        self.counts: Counter[str] = Counter()

    def apply(self, event: JobSetEvent) -> None:
        new = event.state
        if new is None or not event.job_id:
            return
        old = self.jobs.get(event.job_id)
        if old is not None:
            self.counts[old] -= 1
        self.jobs[event.job_id] = new
        self.counts[new] += 1

    @property
    def finished(self) -> bool:
        """At least one job was seen and every job seen is in a terminal state."""
        done = sum(self.counts[state] for state in TERMINAL)
        return bool(self.jobs) and done == len(self.jobs)

    def summary(self) -> str:
        """``Queued:   1, Leased:   0, ...``, Armada's watch summary."""
        return ", ".join(f"{state}: {self.counts[state]:3d}" for state in STATES)


class JobSetFollower:
    """Every event of a job set from ``from_message_id`` on; with ``watch``, forever.

    When the server cannot be reached the follower waits and asks again from the last message
    it delivered, so nothing is lost or repeated; ``on_reconnecting(error, delay)`` is told each
    time. With ``retry_for`` seconds set, it gives up (raising the error) after failing that long.
    :meth:`cancel` stops it from any thread.
    """

    def __init__(
        self,
        client: Client,
        queue: str,
        job_set_id: str,
        *,
        from_message_id: str = "",
        watch: bool = True,
        retry_for: float | None = None,
        on_reconnecting: Callable[[ServerUnreachable, float], None] | None = None,
        backoff: tuple[float, float] = (0.2, 5.0),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.queue = queue
        self.job_set_id = job_set_id
        self.last_message_id = from_message_id
        self.watch = watch
        self.retry_for = retry_for
        self.on_reconnecting = on_reconnecting
        self.backoff = backoff
        self.monotonic = monotonic
        self._stop = threading.Event()
        self._stream: EventStream | None = None

    def cancel(self) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.cancel()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def __iter__(self) -> Iterator[JobSetEvent]:
        first_failure: float | None = None
        delay = self.backoff[0]
        while not self._stop.is_set():
            self._stream = self.client.job_set_events(
                self.queue, self.job_set_id, from_message_id=self.last_message_id, watch=self.watch
            )
            if self._stop.is_set():  # cancelled while the stream was being opened
                self._stream.cancel()
                return
            try:
                for message in self._stream:
                    first_failure, delay = None, self.backoff[0]
                    self.last_message_id = message.id
                    yield JobSetEvent.from_proto(message)
                if not self.watch:
                    return
            except ServerUnreachable as exc:
                now = self.monotonic()
                first_failure = now if first_failure is None else first_failure
                if self.retry_for is not None and now - first_failure >= self.retry_for:
                    raise
                if self.on_reconnecting is not None and not self._stop.is_set():
                    self.on_reconnecting(exc, delay)
            finally:
                self._stream.cancel()
            self._stop.wait(delay)
            delay = min(delay * 2, self.backoff[1])

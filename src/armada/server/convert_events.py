"""Internal events -> the external events clients watch (Armada's mapping, reference §2.4).

One internal event gives zero, one or two external ones (``SubmitJob`` gives Submitted and
Queued). Message ids are ``"<log offset>:<index>"``, the index counting the external events of
that log entry, so a client resuming ``from_message_id`` gets exactly what follows it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from armada_client.armada import event_pb2

from armada.domain import events as ev
from armada.domain.events import EventSequence, FailureInfo, LogEntry
from armada.domain.quoting import shown
from armada.domain.resources import format_quantity
from armada.server.convert_jobs import ApiJobTemplates, timestamp

_CAUSES = {
    "Error": event_pb2.Error,
    "Evicted": event_pb2.Evicted,
    "OOM": event_pb2.OOM,
    "DeadlineExceeded": event_pb2.DeadlineExceeded,
    "Rejected": event_pb2.Rejected,
}


# Jobs accepted before annotations and labels were limited to 256 KiB each may carry more; their
# Submitted event leaves them out (saying so), or no default client could read the job set.
MAX_EVENT_METADATA = 2 * 2**20
TRUNCATED_ANNOTATION = "armadaproject.io/annotations-left-out"


class InvalidMessageId(ValueError):
    pass


# What this server issues: ASCII digits, an offset that fits the log's int64 (not "1_0",
# " 1" or "٣", which int() would take) and an index within one entry.
_MESSAGE_ID = re.compile(r"([0-9]{1,18}):([0-9]{1,9})")


def parse_message_id(message_id: str) -> tuple[int, int]:
    """``"" -> (0, -1)`` (from the start); ``"12:3" -> (12, 3)``."""
    if not message_id:
        return 0, -1
    match = _MESSAGE_ID.fullmatch(message_id)
    if match is None:
        raise InvalidMessageId(
            f"{shown(message_id)} is not a message id from this server (expected "
            "'<offset>:<index>')"
        )
    offset, index = int(match[1]), int(match[2])
    if offset < 1:
        raise InvalidMessageId(f"{shown(message_id)} is not a valid message id")
    return offset, index


def _failure(message: Any, failure: FailureInfo) -> None:
    message.cluster_id = failure.cluster
    message.reason = failure.reason
    message.node_name = failure.node
    message.pod_name = failure.pod_name
    message.pod_namespace = failure.namespace
    message.cause = _CAUSES.get(failure.cause, event_pb2.Error)
    message.failure_category = failure.category
    message.failure_subcategory = failure.subcategory
    for name, code in failure.exit_codes.items():
        message.exit_codes[name] = code
        message.container_statuses.add(
            name=name,
            exitCode=code,
            message=failure.container_messages.get(name, ""),
            cause=message.cause,
        )


Fill = Callable[[event_pb2.EventMessage, Any, EventSequence, ApiJobTemplates], None]


def _submit(
    m: event_pb2.EventMessage, e: ev.SubmitJob, s: EventSequence, t: ApiJobTemplates
) -> None:
    t.fill(m.submitted.job, e.spec)
    metadata = sum(
        len(k) + len(v) for k, v in (*e.spec.annotations.items(), *e.spec.labels.items())
    )
    if metadata > MAX_EVENT_METADATA:  # accepted before submissions were limited
        m.submitted.job.ClearField("annotations")
        m.submitted.job.ClearField("labels")
        m.submitted.job.annotations[TRUNCATED_ANNOTATION] = (
            f"this job's annotations and labels ({metadata} characters) are left out of its"
            " events so that they fit a client's 4 MiB messages"
        )


def _reprioritising(
    m: event_pb2.EventMessage, e: ev.ReprioritiseJob, s: EventSequence, t: ApiJobTemplates
) -> None:
    m.reprioritizing.new_priority = e.priority
    m.reprioritizing.requestor = s.user


def _reprioritised(
    m: event_pb2.EventMessage, e: ev.ReprioritisedJob, s: EventSequence, t: ApiJobTemplates
) -> None:
    m.reprioritized.new_priority = e.priority
    m.reprioritized.requestor = s.user


def _cancelling(
    m: event_pb2.EventMessage, e: ev.CancelJob, s: EventSequence, t: ApiJobTemplates
) -> None:
    m.cancelling.requestor = s.user
    m.cancelling.reason = e.reason


def _cancelled(
    m: event_pb2.EventMessage, e: ev.CancelledJob, s: EventSequence, t: ApiJobTemplates
) -> None:
    m.cancelled.requestor = s.user
    m.cancelled.reason = e.reason


def _preempting(
    m: event_pb2.EventMessage, e: ev.JobPreemptionRequested, s: EventSequence, t: ApiJobTemplates
) -> None:
    m.preempting.requestor = s.user
    m.preempting.reason = e.reason


def _leased(
    m: event_pb2.EventMessage, e: ev.JobRunLeased, s: EventSequence, t: ApiJobTemplates
) -> None:
    m.leased.cluster_id = e.executor
    m.leased.pool = e.pool


def _pending(
    m: event_pb2.EventMessage, e: ev.JobRunAssigned, s: EventSequence, t: ApiJobTemplates
) -> None:
    p = m.pending
    p.cluster_id, p.kubernetes_id, p.pod_number = e.executor, e.run_id, e.pod_number
    p.pod_name, p.pod_namespace, p.pool = e.pod_name, e.namespace, e.pool


def _running(
    m: event_pb2.EventMessage, e: ev.JobRunRunning, s: EventSequence, t: ApiJobTemplates
) -> None:
    r = m.running
    r.cluster_id, r.kubernetes_id, r.pod_number = e.executor, e.run_id, e.pod_number
    r.pod_name, r.pod_namespace, r.pool, r.node_name = e.pod_name, e.namespace, e.pool, e.node


def _succeeded(
    m: event_pb2.EventMessage, e: ev.JobSucceeded, s: EventSequence, t: ApiJobTemplates
) -> None:
    r = m.succeeded
    r.cluster_id, r.kubernetes_id, r.node_name = e.executor, e.run_id, e.node
    r.pod_name, r.pod_namespace = e.pod_name, e.namespace


def _failed(
    m: event_pb2.EventMessage, e: ev.JobFailed, s: EventSequence, t: ApiJobTemplates
) -> None:
    _failure(m.failed, e.failure)
    m.failed.kubernetes_id = e.run_id


def _rejected(
    m: event_pb2.EventMessage, e: ev.JobRejected, s: EventSequence, t: ApiJobTemplates
) -> None:
    _failure(
        m.failed,
        FailureInfo(
            reason=e.reason, cause="Rejected", category="internal", subcategory="job-rejected"
        ),
    )


def _preempted(
    m: event_pb2.EventMessage, e: ev.JobRunPreempted, s: EventSequence, t: ApiJobTemplates
) -> None:
    p = m.preempted
    p.cluster_id, p.run_id, p.reason = e.executor, e.run_id, e.reason
    p.preempting_job_id, p.requestor = e.preempting_job_id, e.requestor


def _lease_returned(
    m: event_pb2.EventMessage, e: ev.JobRunLeaseReturned, s: EventSequence, t: ApiJobTemplates
) -> None:
    r = m.lease_returned
    r.cluster_id, r.reason, r.kubernetes_id = e.executor, e.reason, e.run_id
    r.run_attempted = e.run_attempted


def _lease_expired(
    m: event_pb2.EventMessage, e: ev.JobRunLeaseExpired, s: EventSequence, t: ApiJobTemplates
) -> None:
    m.lease_expired.SetInParent()


def _ingress(
    m: event_pb2.EventMessage, e: ev.IngressInfo, s: EventSequence, t: ApiJobTemplates
) -> None:
    i = m.ingress_info
    i.cluster_id, i.kubernetes_id, i.node_name = e.executor, e.run_id, e.node
    i.pod_name, i.pod_namespace = e.pod_name, e.namespace
    for port, address in e.addresses.items():
        i.ingress_addresses[port] = address


def _utilisation(
    m: event_pb2.EventMessage, e: ev.JobRunUtilisation, s: EventSequence, t: ApiJobTemplates
) -> None:
    u = m.utilisation
    u.cluster_id, u.kubernetes_id, u.node_name = e.executor, e.run_id, e.node
    u.pod_name, u.pod_namespace = e.pod_name, e.namespace
    for values, field in (
        (e.max_resources, u.MaxResourcesForPeriod),
        (e.avg_resources, u.AvgResourcesForPeriod),
        (e.cumulative, u.total_cumulative_usage),
    ):
        for name, value in values.items():
            field[name].string = format_quantity(value, name)


# internal event type -> (external oneof field names, filler); the filler sets the extras,
# the common fields (job_id, job_set_id, queue, created) are set for every field listed.
_MAPPING: dict[type, tuple[tuple[str, ...], Fill]] = {
    ev.SubmitJob: (("submitted", "queued"), _submit),
    ev.ReprioritiseJob: (("reprioritizing",), _reprioritising),
    ev.ReprioritisedJob: (("reprioritized",), _reprioritised),
    ev.CancelJob: (("cancelling",), _cancelling),
    ev.CancelledJob: (("cancelled",), _cancelled),
    ev.JobPreemptionRequested: (("preempting",), _preempting),
    ev.JobRunLeased: (("leased",), _leased),
    ev.JobRunAssigned: (("pending",), _pending),
    ev.JobRunRunning: (("running",), _running),
    ev.JobSucceeded: (("succeeded",), _succeeded),
    ev.JobFailed: (("failed",), _failed),
    ev.JobRejected: (("failed",), _rejected),
    ev.JobRunPreempted: (("preempted",), _preempted),
    ev.JobRunLeaseReturned: (("lease_returned",), _lease_returned),
    ev.JobRunLeaseExpired: (("lease_expired",), _lease_expired),
    ev.IngressInfo: (("ingress_info",), _ingress),
    ev.JobRunUtilisation: (("utilisation",), _utilisation),
}


def external_events(sequence: EventSequence) -> Iterator[event_pb2.EventMessage]:
    """The external events of one sequence, in order."""
    for message in stream_messages(LogEntry(offset=1, sequence=sequence)):
        yield message.message


def stream_messages(
    entry: LogEntry, after_index: int = -1
) -> Iterator[event_pb2.EventStreamMessage]:
    """The entry's external events as stream messages, skipping indexes <= ``after_index``.

    Each message is built in place (a protobuf assignment copies, so building parts and
    assigning them would copy every event twice).
    """
    sequence = entry.sequence
    created = timestamp(sequence.created)
    prefix = f"{entry.offset}:"
    index = -1
    templates = ApiJobTemplates()
    for event in sequence.events:
        mapping = _MAPPING.get(type(event))
        if mapping is None:
            continue
        fields, fill = mapping
        job_id = ev.event_job_id(event) or ""
        for position, name in enumerate(fields):
            index += 1
            if index <= after_index:
                continue
            out = event_pb2.EventStreamMessage(id=prefix + str(index))
            message = out.message
            if position == 0:
                fill(message, event, sequence, templates)
            inner = getattr(message, name)
            inner.job_id = job_id
            inner.job_set_id = sequence.job_set
            inner.queue = sequence.queue
            inner.created.CopyFrom(created)
            yield out

"""The client: Armada's public gRPC API as plain Python calls.

    with Client.connect(ConnectionDetails(url="localhost:50051")) as armada:
        ids = armada.submit_jobs("queue-a", "set-1", items)
        for event in armada.job_set_events("queue-a", "set-1"):
            ...

Requests and resources (``api.Queue``, ``api.RetryPolicy``, ``api.JobDetails``,
``api.JobSubmitRequestItem``) are the protobuf classes that ``armada-client`` ships: they are the
wire format every Armada client shares. Results that are simple (ids, per-job verdicts, states)
come back as plain Python values. Failures raise :mod:`armada.client.errors` exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any

import grpc
from armada_client.armada import (
    event_pb2,
    event_pb2_grpc,
    health_pb2,
    job_pb2,
    job_pb2_grpc,
    submit_pb2,
    submit_pb2_grpc,
)
from google.protobuf import empty_pb2

from armada.client.connection import Connection, ConnectionDetails
from armada.client.errors import ClientError
from armada.client.event_streams import EventStream

SUBMIT_BATCH = 1000
"""Jobs per SubmitJobs request: each request is all-or-nothing on the server."""
QUERY_BATCH = 500
"""Ids per Jobs API request (the server's ``queries.maxQueryItems``)."""
VERSION_HEADER = "x-armada-version"
"""Initial-metadata key a server may use to report its version (read by :meth:`server_version`)."""


class PartialSubmission(ClientError):
    """A later batch of a large submission was refused; earlier batches were stored."""

    def __init__(self, error: ClientError, submitted: list[str]) -> None:
        super().__init__(error.message, error.code)
        self.cause = error
        self.submitted = submitted


def batched(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in consecutive lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def job_state_value(name: str) -> Any:
    """``api.JobState`` value for a state name (any case): ``queued`` -> ``QUEUED``."""
    try:
        return submit_pb2.JobState.Value(name.upper())
    except ValueError:
        raise ValueError(f"{name!r} is not a job state") from None


def job_state_name(value: Any) -> str:
    return str(submit_pb2.JobState.Name(value))


class Client:
    """Armada's Submit, QueueService, RetryPolicyService, Event and Jobs services."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        channel = connection.channel
        self._submit = submit_pb2_grpc.SubmitStub(channel)
        self._queues = submit_pb2_grpc.QueueServiceStub(channel)
        self._policies = submit_pb2_grpc.RetryPolicyServiceStub(channel)
        self._events = event_pb2_grpc.EventStub(channel)
        self._jobs = job_pb2_grpc.JobsStub(channel)

    @classmethod
    def connect(cls, details: ConnectionDetails | None = None) -> Client:
        return cls(Connection(details or ConnectionDetails()))

    @property
    def url(self) -> str:
        return self.connection.target

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, method: Any, request: Any) -> Any:
        return self.connection.unary(method, request)

    # Jobs: submit, cancel, reprioritise, preempt

    def submit_jobs(
        self, queue: str, job_set_id: str, items: Sequence[Any], *, batch_size: int = SUBMIT_BATCH
    ) -> list[str]:
        """Submit ``items`` (``JobSubmitRequestItem``); the new job ids in order."""
        submitted: list[str] = []
        for batch in batched(items, batch_size):
            request = submit_pb2.JobSubmitRequest(
                queue=queue, job_set_id=job_set_id, job_request_items=batch
            )
            try:
                response = self._call(self._submit.SubmitJobs, request)
            except ClientError as exc:
                if submitted:
                    raise PartialSubmission(exc, submitted) from None
                raise
            for number, item in enumerate(response.job_response_items, len(submitted)):
                if item.error:
                    error = ClientError(f"job {number}: {item.error}")
                    raise PartialSubmission(error, submitted) if submitted else error
            submitted.extend(item.job_id for item in response.job_response_items)
        return submitted

    def cancel_jobs(
        self, queue: str, job_set_id: str, job_ids: Sequence[str] = (), reason: str = ""
    ) -> list[str]:
        """Cancel jobs of a job set (all of it when ``job_ids`` is empty); the ids cancelled."""
        request = submit_pb2.JobCancelRequest(
            queue=queue, job_set_id=job_set_id, job_ids=list(job_ids), reason=reason
        )
        return list(self._call(self._submit.CancelJobs, request).cancelled_ids)

    def cancel_job_set(
        self, queue: str, job_set_id: str, states: Iterable[str] = (), reason: str = ""
    ) -> None:
        """Cancel a job set's jobs, only those in ``states`` (queued, pending, running) if given."""
        request = submit_pb2.JobSetCancelRequest(queue=queue, job_set_id=job_set_id, reason=reason)
        request.filter.states.extend(job_state_value(s) for s in states)
        self._call(self._submit.CancelJobSet, request)

    def reprioritize_jobs(
        self, queue: str, job_set_id: str, priority: float, job_ids: Sequence[str] = ()
    ) -> dict[str, str]:
        """New priority for jobs (the whole job set when ``job_ids`` is empty).

        Maps each job id to ``""`` (done) or why it was not changed."""
        request = submit_pb2.JobReprioritizeRequest(
            queue=queue, job_set_id=job_set_id, job_ids=list(job_ids), new_priority=priority
        )
        return dict(self._call(self._submit.ReprioritizeJobs, request).reprioritization_results)

    def preempt_jobs(
        self, queue: str, job_set_id: str, job_ids: Sequence[str], reason: str = ""
    ) -> dict[str, str]:
        """Ask the scheduler to preempt running jobs; job id -> ``""`` or why not."""
        request = submit_pb2.JobPreemptRequest(
            queue=queue, job_set_id=job_set_id, job_ids=list(job_ids), reason=reason
        )
        return dict(self._call(self._submit.PreemptJobs, request).preemption_results)

    # Queues

    def create_queue(self, queue: Any) -> None:
        self._call(self._queues.CreateQueue, queue)

    def update_queue(self, queue: Any) -> None:
        self._call(self._queues.UpdateQueue, queue)

    def delete_queue(self, name: str) -> None:
        self._call(self._queues.DeleteQueue, submit_pb2.QueueDeleteRequest(name=name))

    def get_queue(self, name: str) -> Any:
        return self._call(self._queues.GetQueue, submit_pb2.QueueGetRequest(name=name))

    def get_queues(self) -> list[Any]:
        """Every queue (``api.Queue``), in the server's order."""
        request = submit_pb2.StreamingQueueGetRequest()
        queues = []
        for message in self.connection.stream_all(self._queues.GetQueues, request):
            if message.WhichOneof("event") == "end":
                break
            queues.append(message.queue)
        return queues

    def cordon_queue(self, name: str) -> None:
        self._call(self._queues.CordonQueue, submit_pb2.QueueCordonRequest(name=name))

    def uncordon_queue(self, name: str) -> None:
        self._call(self._queues.UncordonQueue, submit_pb2.QueueUncordonRequest(name=name))

    def cancel_on_queue(
        self,
        name: str,
        *,
        job_states: Iterable[str] = (),
        priority_classes: Iterable[str] = (),
        pools: Iterable[str] = (),
    ) -> None:
        """Cancel a queue's jobs in ``job_states``; empty filters mean all."""
        request = submit_pb2.QueueCancelRequest(
            name=name,
            jobStates=[job_state_value(s) for s in job_states],
            priorityClasses=list(priority_classes),
            pools=list(pools),
        )
        self._call(self._queues.CancelOnQueue, request)

    def preempt_on_queue(
        self, name: str, *, priority_classes: Iterable[str] = (), pools: Iterable[str] = ()
    ) -> None:
        """Preempt a queue's running jobs; empty filters mean all."""
        request = submit_pb2.QueuePreemptRequest(
            name=name, priorityClasses=list(priority_classes), pools=list(pools)
        )
        self._call(self._queues.PreemptOnQueue, request)

    # Retry policies

    def create_retry_policy(self, policy: Any) -> None:
        self._call(self._policies.CreateRetryPolicy, policy)

    def update_retry_policy(self, policy: Any) -> None:
        self._call(self._policies.UpdateRetryPolicy, policy)

    def delete_retry_policy(self, name: str) -> None:
        request = submit_pb2.RetryPolicyDeleteRequest(name=name)
        self._call(self._policies.DeleteRetryPolicy, request)

    def get_retry_policy(self, name: str) -> Any:
        request = submit_pb2.RetryPolicyGetRequest(name=name)
        return self._call(self._policies.GetRetryPolicy, request)

    def get_retry_policies(self) -> list[Any]:
        request = submit_pb2.RetryPolicyListRequest()
        return list(self._call(self._policies.GetRetryPolicies, request).retry_policies)

    # Queries (api.Jobs)

    def job_details(
        self, job_ids: Sequence[str], *, runs: bool = True, spec: bool = False
    ) -> dict[str, Any]:
        """``api.JobDetails`` of the jobs the server knows, by id (unknown ids are absent)."""
        details: dict[str, Any] = {}
        for batch in batched(job_ids, QUERY_BATCH):
            request = job_pb2.JobDetailsRequest(
                job_ids=batch, expand_job_run=runs, expand_job_spec=spec
            )
            details.update(self._call(self._jobs.GetJobDetails, request).job_details)
        return details

    def job_status(self, job_ids: Sequence[str]) -> dict[str, str]:
        """State name of each job (``UNKNOWN`` for ids the server does not know)."""
        states: dict[str, str] = {}
        for batch in batched(job_ids, QUERY_BATCH):
            request = job_pb2.JobStatusRequest(job_ids=batch)
            response = self._call(self._jobs.GetJobStatus, request)
            states.update({k: job_state_name(v) for k, v in response.job_states.items()})
        return states

    def job_errors(self, job_ids: Sequence[str]) -> dict[str, str]:
        """The error message of each failed job (``""`` when it has none)."""
        errors: dict[str, str] = {}
        for batch in batched(job_ids, QUERY_BATCH):
            request = job_pb2.JobErrorsRequest(job_ids=batch)
            errors.update(self._call(self._jobs.GetJobErrors, request).job_errors)
        return errors

    def active_queues(self) -> dict[str, list[str]]:
        """Queues with queued or running jobs, by pool."""
        response = self._call(self._jobs.GetActiveQueues, job_pb2.GetActiveQueuesRequest())
        return {pool: list(q.queues) for pool, q in response.active_queues_by_pool.items()}

    # Events

    def job_set_events(
        self,
        queue: str,
        job_set_id: str,
        *,
        from_message_id: str = "",
        watch: bool = False,
        error_if_missing: bool = False,
    ) -> EventStream:
        """The job set's ``EventStreamMessage``s after ``from_message_id``; with ``watch`` the
        stream stays open for new events. Cancel the returned stream to stop early. Events come
        in batches where the server offers them (see :mod:`armada.client.event_streams`)."""
        request = event_pb2.JobSetRequest(
            queue=queue,
            id=job_set_id,
            from_message_id=from_message_id,
            watch=watch,
            errorIfMissing=error_if_missing,
        )
        metadata = self.connection.details.metadata()
        return EventStream(
            self.connection,
            request,
            lambda r: self._events.GetJobSetEvents(r, metadata=metadata),
        )

    # Health

    def health(self) -> str:
        """``SERVING`` or ``NOT_SERVING``."""
        response = self._call(self._submit.Health, empty_pb2.Empty())
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))

    def server_version(self) -> str | None:
        """The version the server reports in the ``x-armada-version`` header, if any."""
        try:
            _, call = self._submit.Health.with_call(
                empty_pb2.Empty(),
                timeout=self.connection.details.timeout,
                metadata=self.connection.details.metadata(),
            )
        except grpc.RpcError as exc:
            raise self.connection.error(exc) from None
        for key, value in call.initial_metadata() or ():
            if key == VERSION_HEADER:
                return str(value)
        return None

"""Per-job-set event streams, replayed from the log and tailed as it grows.

Two services share one stream: Armada's ``api.Event`` (one gRPC message per event, for
Armada's clients) and our ``EventBatches`` (the same messages, many to a gRPC message, for
clients that can use it: see ``event_batches.proto`` for why).

``watch=false`` replays what existed when the call began, then ends; ``watch=true`` keeps
tailing. ``from_message_id`` resumes strictly after that message. ``errorIfMissing`` answers
NOT_FOUND for a job set that has no events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from armada_client.armada import event_pb2, event_pb2_grpc, health_pb2
from google.protobuf import empty_pb2

from armada.domain.quoting import shown
from armada.rpc.gen import event_batches_pb2 as batch_pb
from armada.rpc.gen import event_batches_pb2_grpc as batch_grpc
from armada.server.context import ApiContext, stream_rpc
from armada.server.convert_events import InvalidMessageId, parse_message_id, stream_messages

DEFAULT_BATCH = 1000
CHUNK = 1000


async def job_set_stream(
    api: ApiContext,
    context: Any,
    queue: str,
    job_set: str,
    from_id: str,
    *,
    watch: bool,
    error_if_missing: bool,
) -> AsyncIterator[list[event_pb2.EventStreamMessage]]:
    """The job set's messages, in the chunks they are read from the log (never empty)."""
    log = api.storage.log
    if not queue:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "queue: a queue is required")
    if not job_set:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "id: a job set id is required")
    try:
        offset, index = parse_message_id(from_id)
    except InvalidMessageId as exc:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"from_message_id: {exc}")
        return
    if error_if_missing and not await asyncio.to_thread(log.job_set_exists, queue, job_set):
        await context.abort(
            grpc.StatusCode.NOT_FOUND,
            f"job set {shown(job_set)} in queue {shown(queue)} does not exist",
        )
    settings = api.settings.events
    head = await asyncio.to_thread(log.head)
    if offset > head:
        await context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"from_message_id: {shown(from_id)} is not a message id from this server (the log "
            f"ends at offset {head})",
        )
    stop_at = None if watch else head
    # Resume inside the entry of the given id (its later events), then after it.
    after = offset - 1 if index >= 0 else offset
    while True:
        entries = await asyncio.to_thread(
            log.read_job_set, queue, job_set, after, settings.read_batch
        )
        if stop_at is not None:
            entries = [e for e in entries if e.offset <= stop_at]
        chunk: list[event_pb2.EventStreamMessage] = []
        for entry in entries:
            chunk.extend(stream_messages(entry, index if entry.offset == offset else -1))
            if len(chunk) >= CHUNK:  # let the client read while the rest is converted
                yield chunk
                chunk = []
        if chunk:
            yield chunk
        if entries:
            after = entries[-1].offset
            if len(entries) == settings.read_batch:
                continue
        if stop_at is not None:
            return
        await log.signal.wait_async(settings.poll_interval.total_seconds())


class EventServicer(event_pb2_grpc.EventServicer):  # type: ignore[misc]
    """api.Event (Armada's)."""

    def __init__(self, api: ApiContext) -> None:
        self.api = api

    @stream_rpc
    async def GetJobSetEvents(
        self, request: event_pb2.JobSetRequest, context: Any
    ) -> AsyncIterator[event_pb2.EventStreamMessage]:
        async for chunk in job_set_stream(
            self.api,
            context,
            request.queue,
            request.id,
            request.from_message_id,
            watch=request.watch,
            error_if_missing=request.errorIfMissing,
        ):
            for message in chunk:
                yield message

    @stream_rpc
    async def Watch(
        self, request: event_pb2.WatchRequest, context: Any
    ) -> AsyncIterator[event_pb2.EventStreamMessage]:
        async for chunk in job_set_stream(
            self.api,
            context,
            request.queue,
            request.job_set_id,
            request.from_id,
            watch=True,
            error_if_missing=True,
        ):
            for message in chunk:
                yield message

    async def Health(
        self, request: empty_pb2.Empty, context: Any
    ) -> health_pb2.HealthCheckResponse:
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


class EventBatchServicer(batch_grpc.EventBatchesServicer):  # type: ignore[misc]
    """armadapy.events.v1.EventBatches: the same stream, many events to a gRPC message."""

    def __init__(self, api: ApiContext) -> None:
        self.api = api

    @stream_rpc
    async def GetJobSetEventBatches(
        self, request: batch_pb.JobSetBatchRequest, context: Any
    ) -> AsyncIterator[batch_pb.EventBatch]:
        size = request.max_batch or DEFAULT_BATCH
        async for chunk in job_set_stream(
            self.api,
            context,
            request.queue,
            request.id,
            request.from_message_id,
            watch=request.watch,
            error_if_missing=request.error_if_missing,
        ):
            for start in range(0, len(chunk), size):
                yield batch_pb.EventBatch(
                    messages=[m.SerializeToString() for m in chunk[start : start + size]]
                )

"""Per-job-set event streams, replayed from the log and tailed as it grows.

Two services share one stream: Armada's ``api.Event`` (one gRPC message per event, for
Armada's clients) and our ``EventBatches`` (the same messages, many to a gRPC message, for
clients that can use it: see ``event_batches.proto`` for why).

``watch=false`` replays what existed when the call began, then ends; ``watch=true`` keeps
tailing, through the job set's shared tail (:mod:`armada.server.event_tail`).
``from_message_id`` resumes strictly after that message. ``errorIfMissing`` answers
NOT_FOUND for a job set that has no events.

Messages are serialised once, when the tail or a page converts them, and sent as they are:
the streaming methods are registered with a response serializer that passes bytes through.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from armada_client.armada import event_pb2, health_pb2
from google.protobuf import empty_pb2

from armada.domain.quoting import shown
from armada.rpc.gen import event_batches_pb2 as batch_pb
from armada.security import Permission
from armada.server.context import ApiContext, ApiError, stream_rpc
from armada.server.convert_events import InvalidMessageId, parse_message_id
from armada.server.event_pages import Batch, position, unframe
from armada.server.event_tail import StreamRequest, Tails, TailSettings, replay, watch

DEFAULT_BATCH = 1000
# A batch stays under this many bytes (one larger event goes alone). A watcher whose client
# does not read holds one batch while its write waits, so this bounds what it costs.
BATCH_BYTES = 256 * 2**10
# api.Event sends one message at a time; it takes this many from the tail at once.
SINGLE_TAKE = 1000


class EventStreams:
    """Opens job-set streams: checks the request, then replays or watches."""

    def __init__(self, api: ApiContext) -> None:
        self.api = api
        settings = api.settings.events
        self.tails = Tails(
            api.storage.log,
            TailSettings(
                ring_bytes=settings.tail_bytes,
                read_batch=settings.read_batch,
                poll_interval=settings.poll_interval.total_seconds(),
                interval=settings.tail_interval.total_seconds(),
            ),
        )

    async def open(
        self,
        context: Any,
        queue: str,
        job_set: str,
        from_id: str,
        *,
        watch_: bool,
        error_if_missing: bool,
        max_messages: int,
    ) -> AsyncIterator[Batch]:
        """The job set's framed messages, in batches (never empty)."""
        log = self.api.storage.log
        if not queue:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "queue: a queue is required")
        if not job_set:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "id: a job set id is required")
        try:  # a queue's events are for those with watch on it
            who = self.api.who(context)
            watch_all = Permission.WATCH_ALL_EVENTS
            await asyncio.to_thread(self.api.require, who, watch_all, queue=queue, verb="watch")
        except ApiError as exc:
            await context.abort(exc.code, exc.message)
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
        head = await asyncio.to_thread(log.head)
        if offset > head:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"from_message_id: {shown(from_id)} is not a message id from this server (the "
                f"log ends at offset {head})",
            )
        request = StreamRequest(queue, job_set, position(offset, index), max_messages, BATCH_BYTES)
        if watch_:
            stream = watch(self.tails, request)
        else:
            stream = replay(log, request, head, self.tails.settings.read_batch)
        async for batch in stream:
            yield batch


class EventServicer:
    """api.Event (Armada's); its streams yield serialised EventStreamMessages."""

    def __init__(self, streams: EventStreams) -> None:
        self.streams = streams

    @stream_rpc
    async def GetJobSetEvents(
        self, request: event_pb2.JobSetRequest, context: Any
    ) -> AsyncIterator[bytes]:
        async for batch in self.streams.open(
            context,
            request.queue,
            request.id,
            request.from_message_id,
            watch_=request.watch,
            error_if_missing=request.errorIfMissing,
            max_messages=SINGLE_TAKE,
        ):
            for framed in batch.messages:
                yield unframe(framed)

    @stream_rpc
    async def Watch(self, request: event_pb2.WatchRequest, context: Any) -> AsyncIterator[bytes]:
        async for batch in self.streams.open(
            context,
            request.queue,
            request.job_set_id,
            request.from_id,
            watch_=True,
            error_if_missing=True,
            max_messages=SINGLE_TAKE,
        ):
            for framed in batch.messages:
                yield unframe(framed)

    async def Health(
        self, request: empty_pb2.Empty, context: Any
    ) -> health_pb2.HealthCheckResponse:
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


class EventBatchServicer:
    """armadapy.events.v1.EventBatches: the same stream, many events to a gRPC message; each
    batch is the concatenation of its framed messages, a serialised EventBatch."""

    def __init__(self, streams: EventStreams) -> None:
        self.streams = streams

    @stream_rpc
    async def GetJobSetEventBatches(
        self, request: batch_pb.JobSetBatchRequest, context: Any
    ) -> AsyncIterator[bytes]:
        async for batch in self.streams.open(
            context,
            request.queue,
            request.id,
            request.from_message_id,
            watch_=request.watch,
            error_if_missing=request.error_if_missing,
            max_messages=request.max_batch or DEFAULT_BATCH,
        ):
            yield batch.joined()


def _as_is(data: bytes) -> bytes:
    return data


def add_event_services(server: grpc.aio.Server, api: ApiContext) -> EventServicer:
    """Register api.Event and EventBatches, their streams sending pre-serialised bytes;
    return the api.Event servicer (the REST gateway calls it too)."""
    streams = EventStreams(api)
    events = EventServicer(streams)
    batches = EventBatchServicer(streams)
    services = {
        "api.Event": {
            "GetJobSetEvents": grpc.unary_stream_rpc_method_handler(
                events.GetJobSetEvents,
                request_deserializer=event_pb2.JobSetRequest.FromString,
                response_serializer=_as_is,
            ),
            "Watch": grpc.unary_stream_rpc_method_handler(
                events.Watch,
                request_deserializer=event_pb2.WatchRequest.FromString,
                response_serializer=_as_is,
            ),
            "Health": grpc.unary_unary_rpc_method_handler(
                events.Health,
                request_deserializer=empty_pb2.Empty.FromString,
                response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
            ),
        },
        "armadapy.events.v1.EventBatches": {
            "GetJobSetEventBatches": grpc.unary_stream_rpc_method_handler(
                batches.GetJobSetEventBatches,
                request_deserializer=batch_pb.JobSetBatchRequest.FromString,
                response_serializer=_as_is,
            ),
        },
    }
    for name, handlers in services.items():
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
        server.add_registered_method_handlers(name, handlers)
    return events

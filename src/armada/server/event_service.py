"""api.Event: per-job-set event streams, replayed from the log and tailed as it grows.

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

from armada.server.context import ApiContext
from armada.server.convert_events import InvalidMessageId, parse_message_id, stream_messages


class EventServicer(event_pb2_grpc.EventServicer):  # type: ignore[misc]
    def __init__(self, api: ApiContext) -> None:
        self.api = api

    async def GetJobSetEvents(
        self, request: event_pb2.JobSetRequest, context: Any
    ) -> AsyncIterator[event_pb2.EventStreamMessage]:
        async for message in self._stream(
            request.queue,
            request.id,
            request.from_message_id,
            watch=request.watch,
            error_if_missing=request.errorIfMissing,
            context=context,
        ):
            yield message

    async def Watch(
        self, request: event_pb2.WatchRequest, context: Any
    ) -> AsyncIterator[event_pb2.EventStreamMessage]:
        async for message in self._stream(
            request.queue,
            request.job_set_id,
            request.from_id,
            watch=True,
            error_if_missing=True,
            context=context,
        ):
            yield message

    async def Health(
        self, request: empty_pb2.Empty, context: Any
    ) -> health_pb2.HealthCheckResponse:
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

    async def _stream(
        self,
        queue: str,
        job_set: str,
        from_id: str,
        *,
        watch: bool,
        error_if_missing: bool,
        context: Any,
    ) -> AsyncIterator[event_pb2.EventStreamMessage]:
        log = self.api.storage.log
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
                grpc.StatusCode.NOT_FOUND, f"job set {job_set!r} in queue {queue!r} does not exist"
            )
        settings = self.api.settings.events
        stop_at = None if watch else await asyncio.to_thread(log.head)
        # Resume inside the entry of the given id (its later events), then after it.
        after = offset - 1 if index >= 0 else offset
        while True:
            entries = await asyncio.to_thread(
                log.read_job_set, queue, job_set, after, settings.read_batch
            )
            if stop_at is not None:
                entries = [e for e in entries if e.offset <= stop_at]
            for entry in entries:
                skip = index if entry.offset == offset else -1
                for message in stream_messages(entry, skip):
                    yield message
            if entries:
                after = entries[-1].offset
                if len(entries) == settings.read_batch:
                    continue
            if stop_at is not None:
                return
            await log.signal.wait_async(settings.poll_interval.total_seconds())

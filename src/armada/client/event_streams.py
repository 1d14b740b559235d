"""Reading a job set's events: batched when the server offers it, one by one otherwise.

Armada's ``api.Event`` sends one gRPC message per event, and grpcio spends about a hundred
microseconds on each at each end. Our server also offers ``EventBatches`` (the same messages,
many to a gRPC message); :class:`EventStream` asks for that first and falls back to
``api.Event`` when the server does not have it (Armada's own server, for one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
from armada_client.armada import event_pb2

from armada.client.connection import Connection
from armada.rpc.gen import event_batches_pb2 as batch_pb
from armada.rpc.gen import event_batches_pb2_grpc as batch_grpc


class EventStream:
    """A job set's ``EventStreamMessage``s; :meth:`cancel` (from any thread) ends it quietly."""

    def __init__(
        self,
        connection: Connection,
        request: event_pb2.JobSetRequest,
        one_by_one: Callable[[event_pb2.JobSetRequest], Any],
    ) -> None:
        self._connection = connection
        self._request = request
        self._one_by_one = one_by_one
        self._call: Any = None
        self._cancelled = False
        self._messages = self._read()

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> event_pb2.EventStreamMessage:
        return next(self._messages)

    def cancel(self) -> None:
        self._cancelled = True
        if self._call is not None:
            self._call.cancel()

    def _read(self) -> Iterator[event_pb2.EventStreamMessage]:
        if self._cancelled:  # cancelled before the first read: make no call at all
            return
        request = self._request
        batches = batch_grpc.EventBatchesStub(self._connection.channel)
        self._call = batches.GetJobSetEventBatches(
            batch_pb.JobSetBatchRequest(
                queue=request.queue,
                id=request.id,
                from_message_id=request.from_message_id,
                watch=request.watch,
                error_if_missing=request.errorIfMissing,
            ),
            metadata=self._connection.details.metadata(),
        )
        parse = event_pb2.EventStreamMessage.FromString
        try:
            for batch in self._call:
                for data in batch.messages:
                    yield parse(data)
            return
        except grpc.RpcError as exc:
            if self._cancelled:
                return
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise self._connection.error(exc) from None
        # The server has no batches (Armada's): the same stream, one message per event.
        self._call = self._one_by_one(request)
        try:
            yield from self._call
        except grpc.RpcError as exc:
            if not self._cancelled:
                raise self._connection.error(exc) from None

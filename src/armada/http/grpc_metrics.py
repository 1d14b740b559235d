"""Request counts and latencies of a process's gRPC server, by method and status code.

The names and labels are those of go-grpc-middleware's Prometheus provider, which Armada's
servers use (``grpc_server_started_total``, ``grpc_server_handled_total``,
``grpc_server_handling_seconds``), so the same queries work. Labels are bounded: only methods
the server has registered are counted (a call to an unknown method is not), and codes are
gRPC's. ``armada_api_open_event_streams`` counts the event streams being served now.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Armada's buckets (internal/common/grpc/grpc.go).
SECONDS_BUCKETS = (0.001, 0.01, 0.1, 0.3, 0.6, 1, 3, 6, 9, 20, 30, 60, 90, 120)
# Services whose server streams are event streams.
EVENT_SERVICES = frozenset({"api.Event", "armadapy.events.v1.EventBatches"})
METHOD_LABELS = ("grpc_type", "grpc_service", "grpc_method")

Behaviour = Callable[..., Any]
Labels = tuple[str, str, str]  # grpc_type, grpc_service, grpc_method


def _code_of(context: grpc.aio.ServicerContext, error: BaseException | None) -> str:
    """The status a call ended with: what the servicer set (or aborted with), else OK for a
    normal end, CANCELLED for a cancelled one, UNKNOWN for an exception."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    if error is None:
        return "OK"
    return "CANCELLED" if isinstance(error, asyncio.CancelledError) else "UNKNOWN"


class GrpcMetrics(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """A server interceptor that counts and times every call, in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.started = Counter(
            "grpc_server_started", "RPCs started on the server", METHOD_LABELS, registry=registry
        )
        self.handled = Counter(
            "grpc_server_handled",
            "RPCs completed on the server, whatever their status",
            (*METHOD_LABELS, "grpc_code"),
            registry=registry,
        )
        self.seconds = Histogram(
            "grpc_server_handling_seconds",
            "Time from the start of an RPC to its end (a stream's whole life)",
            METHOD_LABELS,
            buckets=SECONDS_BUCKETS,
            registry=registry,
        )
        # Each label set's children, found once (``labels()`` costs more than the rest of a
        # call's bookkeeping); bounded, as the labels are.
        self._children: dict[Labels, tuple[Counter, Histogram]] = {}
        self._handled: dict[tuple[Labels, str], Counter] = {}
        self.event_streams = Gauge(
            "armada_api_open_event_streams",
            "Event streams (job set events, watches) being served now",
            ("grpc_method",),
            registry=registry,
        )

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        service, _, method = str(details.method).lstrip("/").rpartition("/")
        if handler.unary_unary is not None:
            call = self._call("unary", service, method, handler.unary_unary)
            return handler._replace(unary_unary=call)
        if handler.stream_unary is not None:
            call = self._call("client_stream", service, method, handler.stream_unary)
            return handler._replace(stream_unary=call)
        kind = "server_stream" if handler.unary_stream is not None else "bidi_stream"
        behaviour = handler.unary_stream or handler.stream_stream
        stream = self._stream(kind, service, method, behaviour)
        if handler.unary_stream is not None:
            return handler._replace(unary_stream=stream)
        return handler._replace(stream_stream=stream)

    def _call(self, kind: str, service: str, method: str, behaviour: Behaviour) -> Behaviour:
        labels = (kind, service, method)

        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            began = self._begin(labels)
            error: BaseException | None = None
            try:
                return await behaviour(request, context)
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._end(labels, began, _code_of(context, error))

        return call

    def _stream(self, kind: str, service: str, method: str, behaviour: Behaviour) -> Behaviour:
        labels = (kind, service, method)
        events = service in EVENT_SERVICES

        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            began = self._begin(labels)
            if events:
                self.event_streams.labels(method).inc()
            error: BaseException | None = None
            try:
                result = behaviour(request, context)
                if inspect.isasyncgen(result):
                    async for item in result:
                        yield item
                else:  # a servicer that writes with context.write and returns
                    await result
            except BaseException as exc:
                error = exc
                raise
            finally:
                if events:
                    self.event_streams.labels(method).dec()
                self._end(labels, began, _code_of(context, error))

        return stream

    def _begin(self, labels: Labels) -> float:
        children = self._children.get(labels)
        if children is None:
            children = (self.started.labels(*labels), self.seconds.labels(*labels))
            self._children[labels] = children
        children[0].inc()
        return time.perf_counter()

    def _end(self, labels: Labels, began: float, code: str) -> None:
        handled = self._handled.get((labels, code))
        if handled is None:
            handled = self._handled[(labels, code)] = self.handled.labels(*labels, code)
        handled.inc()
        self._children[labels][1].observe(time.perf_counter() - began)

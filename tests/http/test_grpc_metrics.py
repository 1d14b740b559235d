"""The gRPC interceptor's counts: by method and status code, for unary calls and streams,
and nothing for methods the server does not have (a client cannot add series)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from prometheus_client import CollectorRegistry

from armada.http.grpc_metrics import GrpcMetrics


async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    if request == b"missing":
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    if request == b"crash":
        raise RuntimeError("a bug")
    return request


async def count(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    for i in range(int(request)):
        yield str(i).encode()


def handlers() -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler(
        "test.Things",
        {
            "Echo": grpc.unary_unary_rpc_method_handler(echo),
            "Count": grpc.unary_stream_rpc_method_handler(count),
        },
    )


async def exercise(registry: CollectorRegistry) -> dict[str, Any]:
    server = grpc.aio.server(interceptors=[GrpcMetrics(registry)])
    server.add_generic_rpc_handlers((handlers(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    codes: dict[str, Any] = {}
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            for what in (b"hello", b"missing", b"crash"):
                try:
                    await channel.unary_unary("/test.Things/Echo")(what)
                    codes[what.decode()] = grpc.StatusCode.OK
                except grpc.aio.AioRpcError as exc:
                    codes[what.decode()] = exc.code()
            items = [m async for m in channel.unary_stream("/test.Things/Count")(b"3")]
            codes["count"] = len(items)
            for method in ("/test.Things/Nope", "/no.Such/Service"):
                try:
                    await channel.unary_unary(method)(b"x")
                except grpc.aio.AioRpcError as exc:
                    codes[method] = exc.code()
    finally:
        await server.stop(0)
    return codes


def test_calls_are_counted_by_method_and_code_and_unknown_methods_not_at_all() -> None:
    registry = CollectorRegistry()
    codes = asyncio.run(exercise(registry))
    assert codes["missing"] == grpc.StatusCode.NOT_FOUND and codes["count"] == 3
    echo = {"grpc_type": "unary", "grpc_service": "test.Things", "grpc_method": "Echo"}

    def handled(code: str, **labels: str) -> float | None:
        return registry.get_sample_value("grpc_server_handled_total", {**labels, "grpc_code": code})

    assert handled("OK", **echo) == 1
    assert handled("NOT_FOUND", **echo) == 1
    assert handled("UNKNOWN", **echo) == 1
    assert registry.get_sample_value("grpc_server_started_total", echo) == 3
    assert registry.get_sample_value("grpc_server_handling_seconds_count", echo) == 3
    stream = {"grpc_type": "server_stream", "grpc_service": "test.Things", "grpc_method": "Count"}
    assert handled("OK", **stream) == 1
    assert codes["/test.Things/Nope"] == grpc.StatusCode.UNIMPLEMENTED
    methods = {
        s.labels.get("grpc_method")
        for family in registry.collect()
        for s in family.samples
        if "grpc_method" in s.labels
    }
    assert methods == {"Echo", "Count"}, "unknown methods add no series"

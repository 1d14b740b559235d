"""The REST gateway: Armada's public API as JSON over HTTP, the way grpc-gateway maps it.

Each route (:mod:`armada.lookout.gateway.rules`) parses its JSON body, path and query into
the request message (protobuf's JSON mapping, but Kubernetes' types in the form Armada's
gateway gives them: :mod:`armada.lookout.gateway.kubernetes_json`; unknown fields, wrong types
and bad UTF-8 are INVALID_ARGUMENT), calls the same servicer method gRPC calls, in process, and
answers with the response message in the same JSON. Errors carry the HTTP status
grpc-gateway gives the gRPC code and grpc-gateway's body
``{"code": n, "message": "...", "details": []}``. Server streams are newline-delimited JSON,
one ``{"result": message}`` a line (``{"error": ...}`` if the stream fails after it began).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from armada.lookout.bodies import BodyTooLarge, read_body
from armada.lookout.gateway.context import Aborted, HttpServicerContext
from armada.lookout.gateway.kubernetes_json import (
    BadValue,
    decode_request,
    descriptor_of,
    message_to_json,
)
from armada.lookout.gateway.rules import Rule, http_rules

log = logging.getLogger(__name__)

# grpc-gateway's HTTPStatusFromCode.
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}
# A stream's first message is awaited this long before the response begins: an error that
# comes at once (a missing job set, a bad message id) is then an HTTP status, not a line.
FIRST_MESSAGE_WAIT = 1.0
UNGATED = ("api.Event",)  # services that read the log, not the views (as gRPC's gate)

Handler = Callable[[Message, HttpServicerContext], Any]


def status_body(code: grpc.StatusCode, message: str) -> dict[str, Any]:
    return {"code": code.value[0], "message": message, "details": []}


def error_response(code: grpc.StatusCode, message: str, status: int | None = None) -> Response:
    return JSONResponse(status_body(code, message), status_code=status or HTTP_STATUS[code])


class Gateway:
    """The routes for ``handlers`` (servicer methods by ``/service/Method``); ``max_body``
    bytes at most in a body (413 beyond); ``views_ready`` awaited before calls that read the
    views (until the views have caught up with the log at start)."""

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        max_body: int,
        views_ready: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.handlers = handlers
        self.max_body = max_body
        self.views_ready = views_ready
        self.rules = [rule for rule in http_rules() if rule.key in handlers]

    def routes(self) -> list[BaseRoute]:
        # ``{name}`` path segments are Starlette's own syntax.
        return [Route(r.path, self._endpoint(r), methods=[r.verb]) for r in self.rules]

    def _endpoint(self, rule: Rule) -> Callable[[Request], Awaitable[Response]]:
        handler = self.handlers[rule.key]

        async def endpoint(request: Request) -> Response:
            try:
                body = await read_body(request, self.max_body)
                message = parse_request(rule, body, request)
            except BodyTooLarge as exc:
                return error_response(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc), status=413)
            except Aborted as exc:
                return error_response(exc.code, exc.details)
            if self.views_ready is not None and rule.service not in UNGATED:
                await self.views_ready()
            peer = f"{request.client.host}:{request.client.port}" if request.client else ""
            context = HttpServicerContext(request.headers, peer)
            if rule.streaming:
                return await _stream(rule, handler(message, context))
            try:
                return JSONResponse(message_to_json(await handler(message, context)))
            except Aborted as exc:
                return error_response(exc.code, exc.details)
            except NotImplementedError:
                return error_response(grpc.StatusCode.UNIMPLEMENTED, f"{rule.key} is not offered")

        return endpoint


def parse_request(rule: Rule, body: bytes, request: Request) -> Message:
    """The request message from the body (``body: "*"``), the query (otherwise) and the path
    (which wins, as in grpc-gateway). Anything wrong is an INVALID_ARGUMENT :class:`Aborted`."""
    message = rule.request()
    try:
        if rule.body == "*":
            text = body.decode("utf-8")
            if text.strip():
                document = _load_json(text)
                decode_request(descriptor_of(message), document)
                json_format.ParseDict(document, message)
        elif body.strip():
            raise Aborted(
                grpc.StatusCode.INVALID_ARGUMENT, f"{rule.verb} {rule.path} takes no body"
            )
        else:
            json_format.ParseDict(_query_fields(message, request), message)
        if request.path_params:
            json_format.ParseDict(dict(request.path_params), message)
    except UnicodeDecodeError as exc:
        raise Aborted(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the body is not valid UTF-8 ({exc.reason} at byte {exc.start})",
        ) from None
    except (json_format.ParseError, BadValue) as exc:
        raise Aborted(grpc.StatusCode.INVALID_ARGUMENT, f"invalid request body: {exc}") from None
    return message


def _load_json(text: str) -> dict[str, Any]:
    """The JSON document (a key given twice is an error, as in ``json_format.Parse``)."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in pairs:
            if key in found:
                raise json_format.ParseError(f"Failed to load JSON: duplicate key {key!r}.")
            found[key] = value
        return found

    try:
        document = json.loads(text, object_pairs_hook=no_duplicates)
    except ValueError as exc:
        raise json_format.ParseError(f"Failed to load JSON: {exc}.") from None
    if not isinstance(document, dict):
        raise json_format.ParseError(f"expected a JSON object, got {type(document).__name__}")
    return document


def _query_fields(message: Message, request: Request) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    by_name = {f.json_name: f for f in message.DESCRIPTOR.fields}
    by_name.update({f.name: f for f in message.DESCRIPTOR.fields})
    for name in request.query_params:
        field = by_name.get(name)
        if field is None:
            raise Aborted(grpc.StatusCode.INVALID_ARGUMENT, f"unknown query parameter {name!r}")
        values: list[Any] = request.query_params.getlist(name)
        if field.type == field.TYPE_BOOL:
            values = [value.lower() == "true" for value in values]
        fields[name] = values if field.is_repeated else values[-1]
    return fields


async def _stream(rule: Rule, stream: AsyncIterator[Any]) -> Response:
    first = asyncio.ensure_future(anext(stream))
    await asyncio.wait({first}, timeout=FIRST_MESSAGE_WAIT)
    if first.done() and first.exception() is not None:
        exc = first.exception()
        if isinstance(exc, Aborted):
            return error_response(exc.code, exc.details)
        if not isinstance(exc, StopAsyncIteration):
            log.error("gateway: %s failed: %s", rule.key, exc)
            return error_response(grpc.StatusCode.INTERNAL, f"internal error: {exc}")

    def line(item: Any) -> bytes:
        message = rule.response.FromString(item) if isinstance(item, bytes) else item
        return json.dumps({"result": message_to_json(message)}).encode() + b"\n"

    async def lines() -> AsyncIterator[bytes]:
        try:
            try:
                yield line(await first)
            except StopAsyncIteration:
                return
            async for item in stream:
                yield line(item)
        except Aborted as exc:
            yield json.dumps({"error": status_body(exc.code, exc.details)}).encode() + b"\n"
        finally:
            first.cancel()
            with contextlib.suppress(Exception):
                await stream.aclose()  # type: ignore[attr-defined]

    return StreamingResponse(lines(), media_type="application/x-ndjson")

"""What every servicer shares: storage, settings, clock and ids; callers' identities; errors.

Servicer methods raise :class:`ApiError` with a gRPC status code and a message for the caller;
:func:`rpc` turns it into the gRPC status, and turns anything unexpected into INTERNAL with the
details logged, so that no request can take the server down.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import grpc

from armada.config.server import ServerSettings
from armada.domain import events as ev
from armada.domain.clock import Clock, IdSource
from armada.views.storage import Storage

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class ApiError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> ApiError:
    return ApiError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> ApiError:
    return ApiError(grpc.StatusCode.NOT_FOUND, message)


@dataclass
class ApiContext:
    storage: Storage
    settings: ServerSettings
    clock: Clock
    ids: IdSource

    def who(self, context: grpc.aio.ServicerContext) -> Principal:
        """The caller of an RPC (see :func:`principal`)."""
        return principal(context, self.settings.auth.anonymous_user)

    def append_control_plane(self, who: Principal, event: ev.Event, cause: str) -> None:
        """Append one control-plane event (queues, retry policies, executor settings)."""
        self.storage.append(
            [
                ev.EventSequence(
                    queue="",
                    job_set="",
                    user=who.user,
                    groups=who.groups,
                    created=self.clock.now(),
                    events=[event],
                    cause=cause,
                )
            ]
        )


@dataclass(frozen=True)
class Principal:
    user: str
    groups: tuple[str, ...] = ()


def principal(context: grpc.aio.ServicerContext, anonymous: str) -> Principal:
    """Who is calling: the user of HTTP basic credentials if presented, else anonymous.

    Authentication proper (checking passwords or tokens) is configured separately; this only
    names the caller so that events record who caused them.
    """
    for key, value in context.invocation_metadata() or ():
        if key.lower() != "authorization" or not isinstance(value, str):
            continue
        scheme, _, credentials = value.partition(" ")
        if scheme.lower() == "basic":
            try:
                user = base64.b64decode(credentials).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                continue
            if user:
                return Principal(user=user)
    return Principal(user=anonymous)


MAX_DETAILS = 2000


def status_details(message: str) -> str:
    """The message, its middle cut out if it is long. Messages quote what callers sent
    (through :func:`armada.domain.quoting.shown`); this is the backstop, because gRPC drops a
    status whose details pass its 8 KiB metadata limit and the caller would learn nothing."""
    if len(message) <= MAX_DETAILS:
        return message
    half = MAX_DETAILS // 2
    return f"{message[:half]} ... {message[-half:]}"


async def _abort(context: Any, name: str, exc: Exception) -> None:
    """End the call with ``exc``'s status: an ApiError's own, INTERNAL (logged) for the rest.
    Called from an ``except`` block; ``context.abort`` raises."""
    if isinstance(exc, ApiError):
        await context.abort(exc.code, status_details(exc.message))
    log.exception("%s failed", name)
    await context.abort(grpc.StatusCode.INTERNAL, status_details(f"internal error: {exc}"))


def rpc(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Map ApiError to its status and unexpected errors to INTERNAL (logged)."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(args[2], method.__qualname__, exc)
            raise  # abort() raises; this line is never reached

    return wrapper


def stream_rpc(method: Callable[P, AsyncIterator[R]]) -> Callable[P, AsyncIterator[R]]:
    """:func:`rpc` for server-streaming methods: an error after some messages were sent still
    ends the stream with a clear status, never UNKNOWN."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[R]:
        try:
            async for message in method(*args, **kwargs):
                yield message
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(args[2], method.__qualname__, exc)
            raise

    return wrapper

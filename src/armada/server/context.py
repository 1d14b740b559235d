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
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import grpc

from armada.config.server import ServerSettings
from armada.domain import events as ev
from armada.domain.clock import Clock, IdSource
from armada.eventlog.base import (
    Expect,
    KeyState,
    PreconditionFailed,
    StoreBusy,
    StoreCorrupt,
    StoreFull,
    StoreUnavailable,
)
from armada.eventlog.sqlite_errors import DISK_FULL
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

    def append_control_plane(
        self, who: Principal, event: ev.Event, cause: str, expect: Sequence[Expect] = ()
    ) -> None:
        """Append one control-plane event (queues, retry policies, executor settings), if the
        preconditions in ``expect`` hold in the append's transaction (else
        :class:`PreconditionFailed`)."""
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
            ],
            expect,
        )

    def append_expecting(
        self, who: Principal, event: ev.Event, cause: str, expect: Expect, refused: ApiError
    ) -> None:
        """Append one control-plane event if ``expect`` holds in the append's transaction;
        else raise ``refused`` (ALREADY_EXISTS, NOT_FOUND...)."""
        try:
            self.append_control_plane(who, event, cause, [expect])
        except PreconditionFailed:
            raise refused from None

    def change_existing(
        self, key: str, missing: str, change: Callable[[KeyState], None], attempts: int = 20
    ) -> None:
        """Read-check-write on an existing object, safe against concurrent writers.

        ``change`` is called with the key's state, the views caught up to at least it; it
        checks what it needs and appends with ``Expect(key, exists=True, version=...)``. If
        another writer got in between (:class:`PreconditionFailed`), it is tried again on the
        new state: a deletion then finds the object gone (NOT_FOUND, ``missing``), an update
        applies to the newest version.
        """
        for _ in range(attempts):
            state = self.storage.log.key_state(key)
            if not state.exists:
                raise not_found(missing)
            if self.storage.store.checkpoint() < state.version:
                self.storage.updater.catch_up()
            try:
                change(state)
                return
            except PreconditionFailed:
                continue
        raise ApiError(
            grpc.StatusCode.ABORTED, f"{key} kept changing concurrently; try again later"
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
    if isinstance(exc, StoreFull):
        log.error("%s failed: %s", name, exc)
        await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, DISK_FULL)
    if isinstance(exc, StoreBusy):
        log.warning("%s failed: %s", name, exc)
        await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, status_details(str(exc)))
    if isinstance(exc, StoreCorrupt | StoreUnavailable):
        log.error("%s failed: %s", name, exc)
        await context.abort(grpc.StatusCode.UNAVAILABLE, status_details(str(exc)))
    if isinstance(exc, PreconditionFailed):
        await context.abort(grpc.StatusCode.ABORTED, "changed concurrently; try again")
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

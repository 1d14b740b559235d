"""What every servicer shares: storage, settings, clock and ids; callers' identities and
permissions (through :mod:`armada.security`); errors.

Servicer methods raise :class:`ApiError` with a gRPC status code and a message for the caller;
:func:`rpc` turns it into the gRPC status, and turns anything unexpected into INTERNAL with the
details logged, so that no request can take the server down.
"""

from __future__ import annotations

import functools
import logging
import secrets
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
from armada.logformat import annotate, bound
from armada.security import (
    Permission,
    PermissionDenied,
    Principal,
    Security,
    Unauthenticated,
)
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
    security: Security

    def who(self, context: grpc.aio.ServicerContext) -> Principal:
        """The caller of an RPC, authenticated from the ``authorization`` entry of its
        metadata (Basic or Bearer) by the process's chain; UNAUTHENTICATED if no
        authenticator accepts it. The REST gateway's context adapter carries the HTTP
        request's headers as metadata, so this is the one door for both."""
        try:
            who = self.security.authenticate_metadata(context.invocation_metadata())
        except Unauthenticated as exc:
            log.info("refused a caller: %s", exc)
            raise ApiError(grpc.StatusCode.UNAUTHENTICATED, str(exc)) from None
        annotate(user=who.user)
        return who

    def require(
        self, who: Principal, permission: Permission, *, queue: str = "", verb: str = ""
    ) -> None:
        """PERMISSION_DENIED unless ``who`` holds ``permission`` or, with ``queue`` and
        ``verb``, the queue grants them the verb (a queue that does not exist grants
        nothing). The message names the missing permission."""
        try:
            if not queue:
                self.security.authoriser.require(who, permission)
                return
            if self.security.authoriser.has(who, permission):
                return
            found = self.storage.store.get_queue(queue)
            if found is None:
                self.security.authoriser.require(who, permission)
                return
            self.security.authoriser.require_on_queue(who, found, verb)
        except PermissionDenied as exc:
            raise ApiError(grpc.StatusCode.PERMISSION_DENIED, str(exc)) from None

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
    if isinstance(exc, PermissionDenied):
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, status_details(str(exc)))
    if isinstance(exc, Unauthenticated):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, status_details(str(exc)))
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


def _request_id() -> str:
    return secrets.token_hex(6)


def rpc(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Map ApiError to its status and unexpected errors to INTERNAL (logged)."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with bound(request_id=_request_id(), method=method.__name__):
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
            with bound(request_id=_request_id(), method=method.__name__):
                async for message in method(*args, **kwargs):
                    yield message
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(args[2], method.__qualname__, exc)
            raise

    return wrapper

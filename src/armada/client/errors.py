"""What can go wrong when talking to Armada, as exceptions a caller can act on.

Every gRPC failure is turned into one of these in one place (:func:`from_rpc_error`), with a
message a person can read: the server's own words for a refusal, the address for a server that
cannot be reached. armadactl maps them to its exit codes: :class:`ServerUnreachable` is 3, every
other :class:`ClientError` is 1.
"""

from __future__ import annotations

import grpc


class ClientError(Exception):
    """The server refused or failed an operation."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ServerUnreachable(ClientError):
    """No answer: the server is down, the address is wrong, or it did not answer in time."""


class NotFound(ClientError):
    """The queue, job set, job or retry policy does not exist."""


class AlreadyExists(ClientError):
    """Creating something that exists already."""


class InvalidRequest(ClientError):
    """The server found the request invalid (its message names the field)."""


class PermissionDenied(ClientError):
    """Not allowed (Armada also answers this for a submission to a queue that does not exist)."""


class FailedPrecondition(ClientError):
    """Not possible in the current state, e.g. deleting a queue that still has jobs."""


class Unimplemented(ClientError):
    """The server does not serve this RPC (e.g. logs or scheduling reports not deployed)."""


_BY_CODE: dict[grpc.StatusCode, type[ClientError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequest,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: PermissionDenied,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
}


def _transport_reason(details: str) -> str:
    """The useful end of gRPC's connection error ("... remote host: Connection refused")."""
    reason = details.rsplit(": ", 1)[-1].strip()
    return reason or details


def from_rpc_error(
    exc: grpc.RpcError,
    *,
    url: str,
    service: str = "the Armada server",
    timeout: float | None = None,
) -> ClientError:
    """The exception for a failed call to ``service`` at ``url``."""
    code: grpc.StatusCode = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details: str = (exc.details() if hasattr(exc, "details") else "") or str(code.name)
    if code == grpc.StatusCode.UNAVAILABLE:
        return ServerUnreachable(
            f"cannot reach {service} at {url} ({_transport_reason(details)})", code
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        within = f" within {timeout:g}s" if timeout else ""
        return ServerUnreachable(f"no answer from {service} at {url}{within}", code)
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return Unimplemented(f"{service} at {url} does not serve this call ({details})", code)
    return _BY_CODE.get(code, ClientError)(details, code)

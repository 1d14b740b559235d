"""One seam for every call to a server: the channel, credentials, deadlines and error mapping.

Every RPC the client makes goes through :meth:`Connection.unary` or :meth:`Connection.stream`,
so that credentials are attached, deadlines applied and gRPC failures turned into
:mod:`armada.client.errors` exceptions in exactly one place.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from armada.client.credentials import TokenSource
from armada.client.errors import ClientError, from_rpc_error

DEFAULT_URL = "localhost:50051"
MAX_MESSAGE_BYTES = 64 * 2**20


@dataclass(frozen=True)
class ConnectionDetails:
    """Where a server is and how to authenticate to it."""

    url: str = DEFAULT_URL
    username: str = ""
    password: str = ""
    use_tls: bool = False
    timeout: float = 30.0
    """Deadline of each unary call, in seconds (streams have none)."""
    token_source: TokenSource | None = None
    """Where a bearer token comes from (OpenID or an exec plugin), instead of basic auth."""
    ca_file: str = ""
    """CA certificates (PEM) that sign the server's certificate; empty: the system's."""

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata for a call: a bearer token from ``token_source``, else HTTP basic
        credentials when a user name is set."""
        if self.token_source is not None:
            return (("authorization", f"Bearer {self.token_source.token()}"),)
        if not self.username:
            return ()
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return (("authorization", f"Basic {token}"),)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        if not self.ca_file:
            return grpc.ssl_channel_credentials()
        try:
            with open(self.ca_file, "rb") as file:
                return grpc.ssl_channel_credentials(file.read())
        except OSError as exc:
            raise ClientError(f"cannot read the CA file {self.ca_file}: {exc.strerror}") from None


def parse_url(url: str, use_tls: bool = False) -> tuple[str, bool]:
    """``host:port`` and whether to use TLS, from ``host:port``, ``http://...`` or ``https://...``."""
    target = url.strip()
    if target.startswith("https://"):
        target, use_tls = target.removeprefix("https://"), True
        if ":" not in target.rstrip("/"):
            target += ":443"
    elif target.startswith("http://"):
        target = target.removeprefix("http://")
    return target.rstrip("/"), use_tls


class Stream:
    """A server stream being read; :meth:`cancel` (from any thread) ends it quietly."""

    def __init__(self, call: Any, error: Callable[[grpc.RpcError], ClientError]) -> None:
        self._call = call
        self._error = error
        self._cancelled = False

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._call)
        except grpc.RpcError as exc:
            if self._cancelled:
                raise StopIteration from None
            raise self._error(exc) from None

    def cancel(self) -> None:
        self._cancelled = True
        self._call.cancel()


class Connection:
    """A channel to one server, with the caller's credentials and deadline."""

    def __init__(
        self,
        details: ConnectionDetails,
        *,
        service: str = "the Armada server",
        channel: grpc.Channel | None = None,
    ) -> None:
        self.details = details
        self.service = service
        target, use_tls = parse_url(details.url, details.use_tls or bool(details.ca_file))
        self.target = target
        if channel is None:
            options = [
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                # Reconnect soon after a server restart (gRPC's default backoff grows to 2 min).
                ("grpc.initial_reconnect_backoff_ms", 200),
                ("grpc.min_reconnect_backoff_ms", 200),
                ("grpc.max_reconnect_backoff_ms", 5000),
            ]
            if use_tls:
                channel = grpc.secure_channel(target, details.channel_credentials(), options)
            else:
                channel = grpc.insecure_channel(target, options)
        self.channel = channel

    def error(self, exc: grpc.RpcError) -> ClientError:
        return from_rpc_error(
            exc, url=self.target, service=self.service, timeout=self.details.timeout
        )

    def unary(self, method: Any, request: Any, *, timeout: float | None = None) -> Any:
        """Call a unary RPC (a stub's method) with the deadline and credentials."""
        try:
            metadata = self.details.metadata()
            return method(request, timeout=timeout or self.details.timeout, metadata=metadata)
        except grpc.RpcError as exc:
            raise self.error(exc) from None

    def stream(self, method: Any, request: Any) -> Stream:
        """Start a server-streaming RPC; no deadline (a watch may last for days)."""
        return Stream(method(request, metadata=self.details.metadata()), self.error)

    def stream_all(self, method: Any, request: Any) -> Iterator[Any]:
        """Every message of a finite stream; the call is cancelled if the reader stops early."""
        stream = self.stream(method, request)
        try:
            yield from stream
        finally:
            stream.cancel()

    def close(self) -> None:
        self.channel.close()

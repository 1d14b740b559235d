"""How a component dials another (an executor its scheduler): TLS when configured, and its
credentials on every call, added by a channel interceptor so that no call can forget them."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import grpc

from armada.config.auth import ClientCredentials, ClientTlsSettings
from armada.security.tls import channel_credentials, read_pem


def authorization_value(credentials: ClientCredentials) -> str:
    """The ``authorization`` header ``credentials`` give ("" for none). A token file is read
    at each call, so a token refreshed on disk is used at once."""
    if credentials.token_file is not None:
        return "Bearer " + read_pem(credentials.token_file, "token file").decode().strip()
    if not credentials.username:
        return ""
    password = credentials.password
    if credentials.password_file is not None:
        password = read_pem(credentials.password_file, "password file").decode().rstrip("\n")
    pair = f"{credentials.username}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


class _Credentials:
    """Adds the credentials to a call's metadata. grpc.aio files a channel's interceptors by
    the first kind each is (unary-unary, unary-stream, ...), so there is one class per kind."""

    def __init__(self, credentials: ClientCredentials) -> None:
        self._credentials = credentials

    def _details(self, details: Any) -> Any:
        value = authorization_value(self._credentials)
        metadata = list(details.metadata or ())
        if value:
            metadata.append(("authorization", value))
        return grpc.aio.ClientCallDetails(
            details.method,
            details.timeout,
            grpc.aio.Metadata(*metadata),
            details.credentials,
            details.wait_for_ready,
        )


class _UnaryUnary(_Credentials, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)


class _UnaryStream(_Credentials, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)


class _StreamUnary(_Credentials, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self._details(details), requests)


class _StreamStream(_Credentials, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self._details(details), requests)


def dial(
    address: str,
    tls: ClientTlsSettings,
    credentials: ClientCredentials,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.aio.Channel:
    """An asyncio channel to ``address``: over TLS if ``tls.enabled``, with ``credentials`` on
    every call."""
    interceptors = [
        kind(credentials) for kind in (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
    ]
    opts = list(options)
    if tls.server_name:
        opts.append(("grpc.ssl_target_name_override", tls.server_name))
    if tls.enabled:
        return grpc.aio.secure_channel(
            address, channel_credentials(tls), options=opts, interceptors=interceptors
        )
    return grpc.aio.insecure_channel(address, options=opts, interceptors=interceptors)

"""TLS for listeners (gRPC through grpcio's own credentials, HTTP through uvicorn's) and for
the components that dial them. Files are read once, at start; a missing one is a clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc

from armada.config.auth import ClientTlsSettings, TlsSettings


class TlsFileError(OSError):
    """A certificate or key file could not be read."""


def read_pem(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TlsFileError(f"cannot read the {what} {path}: {exc.strerror}") from None


def server_credentials(settings: TlsSettings) -> grpc.ServerCredentials:
    assert settings.cert_file is not None and settings.key_file is not None
    pair = (read_pem(settings.key_file, "TLS key"), read_pem(settings.cert_file, "TLS certificate"))
    ca = settings.client_ca_file
    return grpc.ssl_server_credentials(
        [pair],
        root_certificates=read_pem(ca, "client CA file") if ca is not None else None,
        require_client_auth=ca is not None,
    )


def uvicorn_ssl_options(settings: TlsSettings) -> dict[str, Any]:
    """uvicorn.Config's keyword arguments for ``settings`` (none when TLS is off)."""
    if not settings.enabled:
        return {}
    import ssl

    for path, what in (
        (settings.cert_file, "TLS certificate"),
        (settings.key_file, "TLS key"),
        (settings.client_ca_file, "client CA file"),
    ):
        if path is not None:
            read_pem(path, what)
    options: dict[str, Any] = {
        "ssl_certfile": str(settings.cert_file),
        "ssl_keyfile": str(settings.key_file),
    }
    if settings.client_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.client_ca_file)
        options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    return options


def channel_credentials(settings: ClientTlsSettings) -> grpc.ChannelCredentials:
    def optional(path: Path | None, what: str) -> bytes | None:
        return read_pem(path, what) if path is not None else None

    return grpc.ssl_channel_credentials(
        root_certificates=optional(settings.ca_file, "CA file"),
        private_key=optional(settings.key_file, "client key"),
        certificate_chain=optional(settings.cert_file, "client certificate"),
    )

"""Test credentials made on the spot: a CA and server certificates (``cryptography``), RSA
signing keys and a JWKS endpoint served over HTTP by the test, argon2 users."""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from armada.config.auth import AuthSettings
from armada.security.basic import hash_password

AUDIENCE = "armada"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Pki:
    """A CA and a certificate for localhost/127.0.0.1 signed by it, written to ``folder``."""

    folder: Path
    ca: Path = field(init=False)
    cert: Path = field(init=False)
    key: Path = field(init=False)

    def __post_init__(self) -> None:
        now = datetime.datetime.now(datetime.UTC)
        ca_key = _key()
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "armada test CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        server_key = _key()
        server_cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
                ),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.ca = self.folder / "ca.pem"
        self.cert = self.folder / "server.pem"
        self.key = self.folder / "server-key.pem"
        self.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self.cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
        self.key.write_bytes(_pem(server_key))


class Issuer:
    """An OpenID provider for tests: signs tokens and serves its discovery document and JWKS
    on 127.0.0.1; :meth:`rotate` replaces its signing key (the old one is no longer served)."""

    def __init__(self) -> None:
        self.key = _key()
        self.kid = "key-1"
        self.fetches = 0
        self.clients = {"svc": "svc-secret"}  # client id -> secret (client credentials)
        self.device_polls = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: Any = {
                        "issuer": issuer.url,
                        "jwks_uri": f"{issuer.url}/jwks",
                        "token_endpoint": f"{issuer.url}/token",
                        "device_authorization_endpoint": f"{issuer.url}/device",
                    }
                elif self.path == "/jwks":
                    issuer.fetches += 1
                    body = issuer.jwks()
                else:
                    self.send_error(404)
                    return
                self.answer(200, body)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                status, body = issuer.post(self.path, form)
                self.answer(status, body)

            def answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def post(self, path: str, form: dict[str, str]) -> tuple[int, Any]:
        """The token endpoint (client credentials; device codes after one pending poll) and
        the device authorisation endpoint."""
        if path == "/device":
            return 200, {
                "device_code": "device-1",
                "user_code": "WDJB-MJHT",
                "verification_uri": f"{self.url}/activate",
                "expires_in": 60,
                "interval": 0,
            }
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if self.clients.get(form.get("client_id", "")) != form.get("client_secret"):
                return 401, {"error": "invalid_client"}
            token = self.token(form["client_id"], groups=("admins",), scope=form.get("scope", ""))
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 300}
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            self.device_polls += 1
            if self.device_polls % 2 == 1:
                return 400, {"error": "authorization_pending"}
            return 200, {"access_token": self.token("dave", groups=("admins",)), "expires_in": 300}
        return 400, {"error": "unsupported_grant_type"}

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, use="sig", alg="RS256")
        return {"keys": [public]}

    def rotate(self) -> None:
        self.key = _key()
        self.kid = f"key-{int(self.kid.split('-')[1]) + 1}"

    def token(
        self,
        subject: str = "alice",
        *,
        groups: tuple[str, ...] = (),
        audience: str = AUDIENCE,
        lifetime: float = 300,
        key: rsa.RSAPrivateKey | None = None,
        issuer: str | None = None,
        **claims: Any,
    ) -> str:
        now = time.time()
        payload = {
            "sub": subject,
            "aud": audience,
            "iss": issuer or self.url,
            "iat": int(now),
            "exp": int(now + lifetime),
            "groups": list(groups),
            **claims,
        }
        return jwt.encode(payload, key or self.key, "RS256", headers={"kid": self.kid})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running_issuer() -> Iterator[Issuer]:
    issuer = Issuer()
    try:
        yield issuer
    finally:
        issuer.close()


PASSWORDS = {"alice": "alice-secret-1", "bob": "bob-secret-2", "exec": "exec-secret-3"}


def auth_settings(issuer_url: str = "", **changes: Any) -> AuthSettings:
    """alice is an admin, bob has no global permission, exec may run jobs (cluster-1 only)."""
    users = {
        "alice": {"passwordHash": hash_password(PASSWORDS["alice"]), "groups": ["admins"]},
        "bob": {"passwordHash": hash_password(PASSWORDS["bob"]), "groups": ["users"]},
        "exec": {"passwordHash": hash_password(PASSWORDS["exec"]), "groups": ["executors"]},
    }
    admin = [
        "submit_any_jobs",
        "cancel_any_jobs",
        "preempt_any_jobs",
        "reprioritize_any_jobs",
        "watch_all_events",
        "create_queue",
        "delete_queue",
        "cordon_queue",
        "update_executor_settings",
        "create_retry_policy",
    ]
    mapping: dict[str, list[str]] = {p: ["admins"] for p in admin}
    mapping["execute_jobs"] = ["executors"]
    data: dict[str, Any] = {
        "basicAuth": {"users": users},
        "permissionGroupMapping": mapping,
        "executorClusters": {"exec": ["cluster-1"]},
    }
    if issuer_url:
        data["openIdAuth"] = {"providerUrl": issuer_url, "clientId": AUDIENCE}
    data.update(changes)
    return AuthSettings.model_validate(data)

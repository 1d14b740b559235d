"""armadactl's ``kubernetesNativeAuth`` (Armada's): from inside a pod, a short-lived token of a
service account, asked of the cluster's TokenRequest API, presented as a bearer token that the
server's ``kubernetesAuth`` checks with the cluster's TokenReview API.

As Armada's client does, it reads the pod's own credentials (the service-account token, the
cluster's CA and namespace under ``/var/run/secrets/kubernetes.io/serviceaccount``), the API
server's address from ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT``, the service
account to ask a token for from ``SERVICE_ACCOUNT`` and its namespace from ``POD_NAMESPACE`` (else
the pod's own). Only the standard library is used; the token is kept until shortly before it
expires.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from armada.client.credentials import HTTP_TIMEOUT, CachedToken, CredentialsError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
WHAT = "kubernetesNativeAuth"


class KubernetesNativeToken:
    """A token of ``SERVICE_ACCOUNT`` valid ``expiry`` seconds, renewed before it expires."""

    def __init__(
        self,
        expiry: int = 3600,
        *,
        environ: Mapping[str, str] | None = None,
        account_dir: Path = SERVICE_ACCOUNT_DIR,
    ) -> None:
        self.expiry = expiry
        self.environ = os.environ if environ is None else environ
        self.account_dir = account_dir
        self._cached = CachedToken(self._fetch)

    def _read(self, name: str) -> str:
        try:
            return (self.account_dir / name).read_text().strip()
        except OSError as exc:
            raise CredentialsError(
                f"{WHAT}: cannot read the pod's {name} in {self.account_dir}: {exc.strerror}"
            ) from None

    def _fetch(self) -> tuple[str, float | None]:
        host = self.environ.get("KUBERNETES_SERVICE_HOST", "")
        if not host:
            raise CredentialsError(f"{WHAT}: not in a Kubernetes pod (no KUBERNETES_SERVICE_HOST)")
        account = self.environ.get("SERVICE_ACCOUNT", "")
        if not account:
            raise CredentialsError(f"{WHAT}: SERVICE_ACCOUNT names no service account")
        namespace = self.environ.get("POD_NAMESPACE") or self._read("namespace")
        port = self.environ.get("KUBERNETES_SERVICE_PORT", "443")
        server = f"https://{f'[{host}]' if ':' in host else host}:{port}"
        path = "/api/v1/namespaces/{}/serviceaccounts/{}/token".format(
            *(urllib.parse.quote(part, safe="") for part in (namespace, account))
        )
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": self.expiry},
        }
        request = urllib.request.Request(server + path, data=json.dumps(body).encode())
        request.add_header("authorization", f"Bearer {self._read('token')}")
        request.add_header("content-type", "application/json")
        request.add_header("accept", "application/json")
        trust = ssl.create_default_context(cafile=str(self.account_dir / "ca.crt"))
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT, context=trust) as response:
                status = json.loads(response.read()).get("status") or {}
        except urllib.error.HTTPError as exc:
            exc.close()
            raise CredentialsError(
                f"{WHAT}: the cluster refused a token for {namespace}/{account}: "
                f"HTTP {exc.code} {exc.reason}"
            ) from None
        except (OSError, ValueError) as exc:
            raise CredentialsError(f"{WHAT}: could not ask {server}: {exc}") from None
        token = status.get("token")
        if not isinstance(token, str) or not token:
            raise CredentialsError(f"{WHAT}: the cluster's answer holds no token")
        return token, _expiry(status.get("expirationTimestamp"))

    def token(self) -> str:
        return self._cached.token()


def _expiry(stamp: object) -> float | None:
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None

"""Kubernetes service-account tokens, checked by asking the cluster: its TokenReview API says
whether a token is valid and whose it is (Armada's ``kubernetesAuth``).

An executor presents its service-account token as ``Bearer <token>`` (``credentials.tokenFile``),
or as Armada's executors do, ``KubernetesAuth <base64url of {"token", "ca"}>`` (the ``ca`` is
ignored: which certificate authority to trust is this process's configuration, not the
caller's). The review is made with the official client's
``AuthenticationV1Api.create_token_review``: against the cluster of ``kubeconfig`` with its own
credentials, or, with ``kidMappingFileLocation``, against the API server the token's key id
maps to, authenticated by the token itself (Armada's flow).

The principal is the review's user (``system:serviceaccount:<namespace>:<name>``) with its
groups (``system:serviceaccounts``, ``system:serviceaccounts:<namespace>``,
``system:authenticated``) and, as in Armada, its own name as a group, so that
``permissionGroupMapping.execute_jobs`` may name the service account or its namespace's group.
The chain caches an accepted token (``credentialCache``, at most until its ``exp``; the review
runs on a worker thread, off the event loop); a rejected one is refused for
``invalidTokenExpiry`` without asking again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from armada.config import ConfigError
from armada.config.auth import KubernetesAuthSettings
from armada.security.basic import split_header
from armada.security.errors import Unauthenticated
from armada.security.principal import Principal

REJECTED_ENTRIES = 10_000
_KID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@dataclass(frozen=True)
class Review:
    """What the TokenReview API said of a token (its ``status``)."""

    authenticated: bool
    username: str = ""
    groups: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    error: str = ""


class TokenReviewer(Protocol):
    def review(self, token: str, audiences: Sequence[str], cluster_url: str | None) -> Review:
        """Ask the cluster (at ``cluster_url``, authenticated by the token; None: the
        configured cluster) about ``token``; Unauthenticated if it cannot be asked."""


class KubernetesReviewer:
    """Asks with the official Kubernetes client."""

    def __init__(self, settings: KubernetesAuthSettings) -> None:
        """ConfigError when the cluster to ask cannot be configured (no kubeconfig, no
        in-cluster configuration), so that the process does not start to refuse everyone."""
        self._settings = settings
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        if not settings.kid_mapping_file_location:
            try:
                self._client(None)
            except Unauthenticated as exc:
                raise ConfigError(f"kubernetesAuth: {exc}") from None

    def _client(self, cluster_url: str | None) -> Any:
        from kubernetes import client

        key = cluster_url or ""
        with self._lock:
            found = self._clients.get(key)
            if found is not None:
                return found
            configuration = client.Configuration()
            if cluster_url is not None:
                configuration.host = cluster_url
                if self._settings.ca_file is not None:
                    configuration.ssl_ca_cert = str(self._settings.ca_file)
            else:
                _load_cluster(self._settings, configuration)
            found = self._clients[key] = client.ApiClient(configuration)
            return found

    def review(self, token: str, audiences: Sequence[str], cluster_url: str | None) -> Review:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        body = client.V1TokenReview(
            api_version="authentication.k8s.io/v1",
            kind="TokenReview",
            spec=client.V1TokenReviewSpec(token=token, audiences=list(audiences) or None),
        )
        headers = {"Authorization": f"Bearer {token}"} if cluster_url is not None else None
        api = client.AuthenticationV1Api(self._client(cluster_url))
        try:
            answer = api.create_token_review(
                body,
                _request_timeout=self._settings.request_timeout.total_seconds(),
                _headers=headers,
            )
        except ApiException as exc:
            raise Unauthenticated(
                f"kubernetes token: the TokenReview API answered {exc.status} {exc.reason}"
            ) from None
        except (HTTPError, OSError) as exc:
            raise Unauthenticated(
                f"kubernetes token: the TokenReview API is unreachable ({type(exc).__name__})"
            ) from None
        status = answer.status
        user = status.user if status is not None else None
        return Review(
            authenticated=bool(status is not None and status.authenticated),
            username=(user.username or "") if user is not None else "",
            groups=tuple(user.groups or ()) if user is not None else (),
            audiences=tuple(status.audiences or ()) if status is not None else (),
            error=(status.error or "") if status is not None else "",
        )


def _load_cluster(settings: KubernetesAuthSettings, configuration: Any) -> None:
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    context = settings.context or None
    try:
        if settings.kubeconfig:
            config.load_kube_config(
                config_file=settings.kubeconfig, context=context, client_configuration=configuration
            )
            return
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException:
            config.load_kube_config(context=context, client_configuration=configuration)
    except (ConfigException, OSError) as exc:
        raise Unauthenticated(f"cannot configure the Kubernetes client ({exc})") from None


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unchecked ({} if it is not one): only to route the token and to
    know its expiry; the cluster checks it."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(_b64url(parts[1]))
    except (ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def _unverified_header(token: str) -> dict[str, Any]:
    try:
        header = json.loads(_b64url(token.split(".", maxsplit=1)[0]))
    except (ValueError, binascii.Error):
        return {}
    return header if isinstance(header, dict) else {}


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def armada_token(credentials: str) -> str:
    """The token in Armada's ``KubernetesAuth`` credentials (base64url JSON {token, ca})."""
    try:
        body = json.loads(_b64url(credentials))
        token = body["token"]
    except (ValueError, binascii.Error, KeyError, TypeError):
        raise Unauthenticated("kubernetes auth: the credentials are not Armada's form") from None
    if not isinstance(token, str) or not token:
        raise Unauthenticated("kubernetes auth: the credentials hold no token")
    return token


class KubernetesAuthenticator:
    method = "kubernetes"

    def __init__(
        self,
        settings: KubernetesAuthSettings,
        reviewer: TokenReviewer | None = None,
        *,
        now: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._reviewer = reviewer or KubernetesReviewer(settings)
        self._now = now
        self._monotonic = monotonic
        self._rejected: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def authenticate(self, header: str) -> Principal | None:
        scheme, credentials = split_header(header)
        if scheme == "kubernetesauth":
            token = armada_token(credentials)
        elif scheme == "bearer" and credentials:
            token = credentials
        else:
            return None
        claims = unverified_claims(token)
        issuers = self._settings.issuers
        if scheme == "bearer" and issuers and claims.get("iss") not in issuers:
            return None  # another issuer's token: OpenID's to check
        expires = claims.get("exp")
        if isinstance(expires, int | float) and expires <= self._now():
            raise Unauthenticated("kubernetes token: expired")
        digest = hashlib.sha256(token.encode()).digest()
        if self._recently_rejected(digest):
            raise Unauthenticated("kubernetes token: rejected by the TokenReview API")
        review = self._reviewer.review(token, self._settings.audiences, self._cluster_url(token))
        if not review.authenticated:
            self._reject(digest)
            reason = f" ({review.error})" if review.error else ""
            raise Unauthenticated(f"kubernetes token: rejected by the TokenReview API{reason}")
        wanted = set(self._settings.audiences)
        if wanted and not wanted & set(review.audiences):
            raise Unauthenticated("kubernetes token: not for this audience")
        if not review.username:
            raise Unauthenticated("kubernetes token: the review named no user")
        return Principal(
            user=review.username,
            groups=tuple(dict.fromkeys((*review.groups, review.username))),
            method=self.method,
            expires_at=float(expires) if isinstance(expires, int | float) else None,
        )

    def _cluster_url(self, token: str) -> str | None:
        folder = self._settings.kid_mapping_file_location
        if not folder:
            return None
        kid = _unverified_header(token).get("kid")
        if not isinstance(kid, str) or not _KID.match(kid):
            raise Unauthenticated("kubernetes token: no usable key id (kid)")
        try:
            url = (Path(folder) / kid).read_text().strip()
        except OSError:
            raise Unauthenticated(f"kubernetes token: key id {kid!r} names no cluster") from None
        if not url.startswith("https://") and not url.startswith("http://"):
            raise Unauthenticated(f"kubernetes token: key id {kid!r} maps to no URL")
        return url

    def _recently_rejected(self, digest: bytes) -> bool:
        with self._lock:
            until = self._rejected.get(digest)
            return until is not None and until > self._monotonic()

    def _reject(self, digest: bytes) -> None:
        with self._lock:
            until = self._monotonic() + self._settings.invalid_token_expiry.total_seconds()
            self._rejected[digest] = until
            self._rejected.move_to_end(digest)
            if len(self._rejected) > REJECTED_ENTRIES:
                self._rejected.popitem(last=False)

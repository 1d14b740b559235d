"""The authenticator chain and the cache of credentials it has checked.

Authenticators are tried in Armada's order (basic, Kubernetes, OpenID, anonymous): the first that
recognises the ``authorization`` header's scheme decides; one that finds the credentials wrong
ends the chain (a wrong password never falls through to anonymous). A header that was accepted
is remembered by its SHA-256 for ``credentialCache`` (a token: at most until it expires), so a
client making many calls pays one argon2 or signature check, not one per call.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

from armada.config.auth import AuthSettings
from armada.security.authorise import Authoriser
from armada.security.basic import AnonymousAuthenticator, BasicAuthenticator
from armada.security.errors import Unauthenticated
from armada.security.kubernetes_auth import KubernetesAuthenticator
from armada.security.oidc import OpenIdAuthenticator
from armada.security.principal import Principal

CACHE_ENTRIES = 10_000

Metadata = Iterable[tuple[str, str | bytes]]


class Authenticator(Protocol):
    method: str

    def authenticate(self, header: str) -> Principal | None:
        """The caller; None if the header is not for this authenticator; Unauthenticated if it
        is and the credentials are wrong."""


def authorization_header(metadata: Metadata | None) -> str:
    """The ``authorization`` value of gRPC metadata or HTTP headers ("" if none)."""
    for key, value in metadata or ():
        if key.lower() == "authorization":
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return ""


class Security:
    """One process's authenticator chain and authoriser."""

    def __init__(
        self,
        settings: AuthSettings,
        authenticators: list[Authenticator],
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.authoriser = Authoriser(settings)
        self._authenticators = authenticators
        self._monotonic = monotonic
        self._ttl = settings.credential_cache.total_seconds()
        self._cache: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def authenticate(self, header: str) -> Principal:
        """The caller presenting ``header`` (the authorization value, "" if none)."""
        if not header:
            return self._run_chain(header)
        digest = hashlib.sha256(header.encode()).digest()
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(digest)
            if cached is not None and cached[1] > now:
                return cached[0]
        principal = self._run_chain(header)
        until = now + self._ttl
        if principal.expires_at is not None:
            until = min(until, now + principal.expires_at - time.time())
        with self._lock:
            self._cache[digest] = (principal, until)
            if len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return principal

    def authenticate_metadata(self, metadata: Metadata | None) -> Principal:
        return self.authenticate(authorization_header(metadata))

    def is_cached(self, header: str) -> bool:
        """Whether ``header`` was accepted recently: authenticating it again costs a hash."""
        if not header:
            return True  # nothing to check: anonymous or refused at once
        digest = hashlib.sha256(header.encode()).digest()
        with self._lock:
            cached = self._cache.get(digest)
            return cached is not None and cached[1] > self._monotonic()

    async def authenticate_off_loop(self, header: str) -> Principal:
        """:meth:`authenticate` for a loop: a header not in the cache is checked in a thread
        (an argon2 check takes 50 ms to seconds; a key fetch, a network round trip), so the
        other calls on the loop go on meanwhile."""
        if self.is_cached(header):
            return self.authenticate(header)
        return await asyncio.to_thread(self.authenticate, header)

    def _run_chain(self, header: str) -> Principal:
        for authenticator in self._authenticators:
            principal = authenticator.authenticate(header)
            if principal is not None:
                return principal
        if header:
            scheme = header.partition(" ")[0]
            raise Unauthenticated(
                f"credentials of scheme {scheme!r} are not accepted here "
                f"(accepted: {self.accepted()})"
            )
        raise Unauthenticated(f"credentials are required (accepted: {self.accepted()})")

    def accepted(self) -> str:
        return ", ".join(a.method for a in self._authenticators) or "none"


def build_security(settings: AuthSettings) -> Security:
    """The chain ``settings`` configures: basic, Kubernetes, OpenID, then anonymous (Armada's
    order), each if enabled."""
    chain: list[Authenticator] = []
    if settings.basic_auth.users:
        chain.append(BasicAuthenticator(settings.basic_auth))
    if settings.kubernetes_auth.active:
        chain.append(KubernetesAuthenticator(settings.kubernetes_auth))
    if settings.open_id_auth.enabled:
        chain.append(OpenIdAuthenticator(settings.open_id_auth))
    if settings.anonymous_auth:
        chain.append(AnonymousAuthenticator(settings.anonymous_user))
    return Security(settings, chain)

"""Bearer JWTs from an OpenID Connect provider, checked with PyJWT against the provider's
published keys (JWKS).

The keys are fetched once and kept ``jwksCache``; a token signed with a key id not among them
fetches them again at once (the provider rotated its key), at most every
:data:`REFETCH_INTERVAL` seconds so that tokens with made-up key ids cannot flood the provider.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt

from armada.config.auth import OpenIdAuthSettings
from armada.security.basic import split_header
from armada.security.errors import Unauthenticated
from armada.security.principal import Principal

log = logging.getLogger(__name__)

REFETCH_INTERVAL = 10.0
FETCH_TIMEOUT = 10.0

Fetch = Callable[[str], Any]


def fetch_json(url: str) -> Any:
    """GET ``url`` and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:
        return json.loads(response.read())


class KeySet:
    """The provider's signing keys by key id, fetched when needed."""

    def __init__(
        self,
        settings: OpenIdAuthSettings,
        fetch: Fetch = fetch_json,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._fetch = fetch
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._jwks_url = settings.jwks_url

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = self._monotonic()
            stale = (
                self._fetched_at is None
                or now - self._fetched_at > self._settings.jwks_cache.total_seconds()
            )
            unknown = kid not in self._keys
            may_refetch = self._fetched_at is None or now - self._fetched_at >= REFETCH_INTERVAL
            if stale or (unknown and may_refetch):
                self._refresh(now)
            found = self._keys.get(kid)
        if found is None:
            raise Unauthenticated(f"bearer token: signed with unknown key id {kid!r}")
        return found

    def _refresh(self, now: float) -> None:
        try:
            if not self._jwks_url:
                issuer = self._settings.provider_url.rstrip("/")
                discovery = self._fetch(f"{issuer}/.well-known/openid-configuration")
                self._jwks_url = str(discovery["jwks_uri"])
            document = self._fetch(self._jwks_url)
            keys = jwt.PyJWKSet.from_dict(document).keys
        except Exception as exc:
            log.warning("could not fetch the OpenID provider's keys: %s", exc)
            if self._fetched_at is None:
                raise Unauthenticated(
                    f"bearer token: the provider's keys are unavailable ({exc})"
                ) from None
            return
        self._keys = {key.key_id: key for key in keys if key.key_id}
        self._fetched_at = now


class OpenIdAuthenticator:
    method = "openid"

    def __init__(self, settings: OpenIdAuthSettings, keys: KeySet | None = None) -> None:
        self._settings = settings
        self._keys = keys or KeySet(settings)

    def authenticate(self, header: str) -> Principal | None:
        scheme, token = split_header(header)
        if scheme != "bearer":
            return None
        claims = self.verify(token)
        return self.principal(claims)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims if it is signed by the provider, current, for us and from our
        issuer; else Unauthenticated saying which check failed."""
        settings = self._settings
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
            key = self._keys.key(str(kid))
            options = {"verify_aud": not settings.skip_client_id_check, "require": ["exp"]}
            return jwt.decode(
                token,
                key,
                algorithms=list(settings.algorithms),
                audience=settings.client_id or None,
                issuer=settings.provider_url or None,
                leeway=settings.leeway,
                options=options,  # type: ignore[arg-type]
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("bearer token: expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("bearer token: not for this audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("bearer token: from another issuer") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("bearer token: bad signature") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"bearer token: invalid ({exc})") from None

    def principal(self, claims: dict[str, Any]) -> Principal:
        settings = self._settings
        groups = claims.get(settings.groups_claim, [])
        scope = claims.get(settings.scope_claim, "")
        scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope or ()]
        return Principal(
            user=str(claims.get(settings.user_claim, "")),
            groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
            scopes=frozenset(scopes),
            claims=frozenset(claims),
            method=self.method,
            expires_at=float(claims["exp"]),
        )

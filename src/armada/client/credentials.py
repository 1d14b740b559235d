"""Where a client's bearer token comes from, as Armada's clients get theirs: an OpenID
provider's client-credentials grant (services), its device flow (people at a terminal), or an
``exec`` plugin (any command that prints a token). Basic credentials need none of this.

Each source keeps its token until shortly before it expires, so a long watch or a loop of
calls asks the provider once. Only the standard library is used (urllib), and no token or
secret is ever put in an error message.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from armada.client.errors import ClientError

HTTP_TIMEOUT = 30.0
EARLY = 30.0  # a token is renewed this many seconds before it expires


class CredentialsError(ClientError):
    """A token could not be obtained (the provider refused, the plugin failed...)."""


class TokenSource(Protocol):
    def token(self) -> str:
        """A current bearer token."""


def _post_form(url: str, form: Mapping[str, str]) -> dict[str, Any]:
    data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("content-type", "application/x-www-form-urlencoded")
    request.add_header("accept", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        try:
            body = dict(json.loads(exc.read()))
        except (ValueError, TypeError):
            body = {"error": f"HTTP {exc.code}"}
        finally:
            exc.close()
        return body
    except (OSError, ValueError) as exc:
        raise CredentialsError(f"could not reach the OpenID provider at {url}: {exc}") from None


def discover(provider_url: str) -> dict[str, Any]:
    """The provider's OpenID configuration (its token and device endpoints)."""
    url = provider_url.rstrip("/") + "/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
            return dict(json.loads(response.read()))
    except (OSError, ValueError) as exc:
        raise CredentialsError(f"OpenID discovery at {url} failed: {exc}") from None


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` of a JWT (unverified: only to know when to renew), None if it has none."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return float(payload["exp"])
    except (ValueError, KeyError, TypeError):
        return None


@dataclass
class CachedToken:
    """A token and when to renew it, guarded by a lock (calls may come from several threads)."""

    fetch: Callable[[], tuple[str, float | None]]
    now: Callable[[], float] = time.time
    _token: str = ""
    _until: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def token(self) -> str:
        with self._lock:
            if not self._token or self.now() >= self._until:
                token, expires = self.fetch()
                self._token = token
                self._until = (expires - EARLY) if expires is not None else float("inf")
            return self._token


def _token_from(answer: dict[str, Any], what: str) -> tuple[str, float | None]:
    if "access_token" not in answer:
        error = answer.get("error", "no access_token in the answer")
        detail = answer.get("error_description", "")
        raise CredentialsError(f"{what}: the provider refused: {error} {detail}".strip())
    token = str(answer["access_token"])
    if "expires_in" in answer:
        return token, time.time() + float(answer["expires_in"])
    return token, jwt_expiry(token)


class ClientCredentialsToken:
    """OAuth2 client-credentials grant (Armada's ``openIdClientCredentialsAuth``)."""

    def __init__(
        self, provider_url: str, client_id: str, client_secret: str, scopes: Sequence[str] = ()
    ) -> None:
        self.provider_url = provider_url
        self.client_id = client_id
        self._secret = client_secret
        self.scopes = tuple(scopes)
        self._cached = CachedToken(self._fetch)

    def _fetch(self) -> tuple[str, float | None]:
        endpoint = str(discover(self.provider_url)["token_endpoint"])
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret,
        }
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        return _token_from(_post_form(endpoint, form), "client credentials")

    def token(self) -> str:
        return self._cached.token()


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class DeviceFlowToken:
    """OAuth2 device authorisation grant (Armada's ``openIdDeviceAuth``): prints where to go
    and the code to enter, then waits for the person to approve."""

    def __init__(
        self,
        provider_url: str,
        client_id: str,
        scopes: Sequence[str] = (),
        *,
        tell: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider_url = provider_url
        self.client_id = client_id
        self.scopes = tuple(scopes)
        self._tell = tell or (lambda text: print(text, file=sys.stderr, flush=True))
        self._sleep = sleep
        self._cached = CachedToken(self._fetch)

    def _fetch(self) -> tuple[str, float | None]:
        config = discover(self.provider_url)
        if "device_authorization_endpoint" not in config:
            raise CredentialsError("the OpenID provider offers no device authorization endpoint")
        form = {"client_id": self.client_id}
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        start = _post_form(str(config["device_authorization_endpoint"]), form)
        if "device_code" not in start:
            raise CredentialsError(f"device flow: the provider refused: {start.get('error')}")
        where = start.get("verification_uri_complete") or start.get("verification_uri")
        self._tell(f"To log in, open {where} and enter the code {start.get('user_code')}")
        interval = float(start.get("interval", 5))
        deadline = time.monotonic() + float(start.get("expires_in", 600))
        poll = {"grant_type": DEVICE_GRANT, "device_code": start["device_code"]}
        poll["client_id"] = self.client_id
        while time.monotonic() < deadline:
            answer = _post_form(str(config["token_endpoint"]), poll)
            error = answer.get("error")
            if error == "authorization_pending":
                self._sleep(interval)
                continue
            if error == "slow_down":
                interval += 5
                self._sleep(interval)
                continue
            return _token_from(answer, "device flow")
        raise CredentialsError("device flow: the code expired before it was approved")

    def token(self) -> str:
        return self._cached.token()


class ExecToken:
    """Runs a command that prints a token (Armada's ``execAuth``): its trimmed standard output
    is the token, kept until it expires when it is a JWT."""

    def __init__(
        self,
        command: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        interactive: bool = False,
    ) -> None:
        self.command = command
        self.args = tuple(args)
        self.env = dict(env or {})
        self.interactive = interactive
        self._cached = CachedToken(self._fetch)

    def _fetch(self) -> tuple[str, float | None]:
        try:
            done = subprocess.run(
                [self.command, *self.args],
                env={**os.environ, **self.env},
                stdin=None if self.interactive else subprocess.DEVNULL,
                stdout=subprocess.PIPE,  # standard error goes to the user
                text=True,
                timeout=300,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CredentialsError(f"execAuth: could not run {self.command!r}: {exc}") from None
        if done.returncode != 0:
            raise CredentialsError(
                f"execAuth: {self.command!r} failed with exit code {done.returncode}"
            )
        token = (done.stdout or "").strip()
        if not token:
            raise CredentialsError(f"execAuth: {self.command!r} printed no token")
        return token, jwt_expiry(token)

    def token(self) -> str:
        return self._cached.token()

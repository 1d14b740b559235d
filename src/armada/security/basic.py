"""Authenticators for HTTP basic credentials (checked against argon2 hashes) and for callers
who present none (anonymous, when allowed)."""

from __future__ import annotations

import base64
import binascii

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from armada.config.auth import BasicAuthSettings
from armada.security.errors import Unauthenticated
from armada.security.principal import Principal

_HASHER = PasswordHasher()
# Checked when the user is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` for ``basicAuth.users.<name>.passwordHash``."""
    return _HASHER.hash(password)


def split_header(header: str) -> tuple[str, str]:
    """``("basic", "...")`` from ``"Basic ..."``: the scheme lower-cased and its credentials."""
    scheme, _, credentials = header.strip().partition(" ")
    return scheme.lower(), credentials.strip()


class BasicAuthenticator:
    method = "basic"

    def __init__(self, settings: BasicAuthSettings) -> None:
        self._users = settings.users

    def authenticate(self, header: str) -> Principal | None:
        """The user, None when the header is not basic credentials; Unauthenticated when
        they are wrong."""
        scheme, credentials = split_header(header)
        if scheme != "basic":
            return None
        try:
            user, sep, password = (
                base64.b64decode(credentials, validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated(
                "basic auth: the credentials are not base64 of user:password"
            ) from None
        if not sep:
            raise Unauthenticated("basic auth: the credentials are not user:password")
        info = self._users.get(user)
        try:
            _HASHER.verify(info.password_hash if info else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise Unauthenticated(f"basic auth: wrong user name or password for {user!r}") from None
        if info is None:
            raise Unauthenticated(f"basic auth: wrong user name or password for {user!r}")
        return Principal(user=user, groups=info.groups, method=self.method)


class AnonymousAuthenticator:
    """Lets in any caller that got this far, as ``user``. Last in the chain."""

    method = "anonymous"

    def __init__(self, user: str) -> None:
        self._principal = Principal(user=user, method=self.method)

    def authenticate(self, header: str) -> Principal | None:
        return self._principal

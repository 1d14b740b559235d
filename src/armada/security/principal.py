"""A caller, as the authenticators establish it."""

from __future__ import annotations

from dataclasses import dataclass, field

from armada.config.auth import EVERYONE


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user name, the groups they are in, and for token callers the scopes
    and claim names the token carried. ``method`` says which authenticator accepted them."""

    user: str
    groups: tuple[str, ...] = ()
    scopes: frozenset[str] = frozenset()
    claims: frozenset[str] = frozenset()
    method: str = ""
    expires_at: float | None = field(default=None, compare=False)
    """When the credentials stop being valid (a token's exp, seconds since the epoch)."""

    def in_group(self, group: str) -> bool:
        return group == EVERYONE or group in self.groups

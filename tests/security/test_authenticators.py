"""The authenticator chain: basic against argon2 hashes, OpenID bearer JWTs against a JWKS
endpoint the test serves, anonymous, and the cache of checked credentials."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from armada.config.auth import AuthSettings
from armada.security import Permission, PermissionDenied, Unauthenticated, build_security
from armada.security.basic import hash_password
from armada.security.oidc import REFETCH_INTERVAL
from tests.security.support import PASSWORDS, Issuer, auth_settings, running_issuer


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


def test_basic_accepts_the_right_password_and_refuses_a_wrong_one() -> None:
    security = build_security(auth_settings())
    alice = security.authenticate(basic("alice", PASSWORDS["alice"]))
    assert (alice.user, alice.groups, alice.method) == ("alice", ("admins",), "basic")
    with pytest.raises(Unauthenticated, match="wrong user name or password for 'alice'"):
        security.authenticate(basic("alice", "guess"))
    with pytest.raises(Unauthenticated, match="wrong user name or password"):
        security.authenticate(basic("mallory", "anything"))
    with pytest.raises(Unauthenticated, match="not base64"):
        security.authenticate("Basic !!!")


def test_a_wrong_password_never_falls_through_to_anonymous() -> None:
    security = build_security(auth_settings(anonymousAuth=True))
    assert security.authenticate("").user == "anonymous"
    with pytest.raises(Unauthenticated):
        security.authenticate(basic("alice", "guess"))


def test_no_credentials_without_anonymous_is_refused_naming_what_is_accepted() -> None:
    security = build_security(auth_settings())
    with pytest.raises(Unauthenticated, match=r"credentials are required \(accepted: basic\)"):
        security.authenticate("")


def test_config_refuses_a_plain_password_and_unknown_permissions() -> None:
    with pytest.raises(ValidationError, match="not a password"):
        AuthSettings.model_validate({"basicAuth": {"users": {"a": {"passwordHash": "hunter2"}}}})
    with pytest.raises(ValidationError, match="unknown permission 'submit_jobz'"):
        AuthSettings.model_validate({"permissionGroupMapping": {"submit_jobz": ["x"]}})


def test_a_checked_password_is_cached_by_hash_and_a_new_password_is_checked_again() -> None:
    now = [0.0]
    settings = auth_settings()
    security = build_security(settings)
    security._monotonic = lambda: now[0]  # virtual time for the cache's expiry
    header = basic("bob", PASSWORDS["bob"])
    first = security.authenticate(header)
    assert security.authenticate(header) is first  # from the cache: no second argon2 check
    now[0] += settings.credential_cache.total_seconds() + 1
    assert security.authenticate(header) is not first  # expired: checked again
    with pytest.raises(Unauthenticated):
        security.authenticate(basic("bob", PASSWORDS["bob"] + "x"))


def test_a_valid_jwt_gives_the_subject_groups_and_scopes(issuer: Issuer) -> None:
    security = build_security(auth_settings(issuer.url))
    token = issuer.token("carol", groups=("admins", "team-a"), scope="armada.submit read")
    carol = security.authenticate(f"Bearer {token}")
    assert carol.user == "carol"
    assert carol.groups == ("admins", "team-a")
    assert carol.scopes == {"armada.submit", "read"}
    assert security.authoriser.has(carol, Permission.CREATE_QUEUE)  # through group admins


def test_expired_wrong_audience_wrong_issuer_and_wrong_signature_are_refused(
    issuer: Issuer,
) -> None:
    security = build_security(auth_settings(issuer.url))
    with pytest.raises(Unauthenticated, match="expired"):
        security.authenticate(f"Bearer {issuer.token(lifetime=-120)}")
    with pytest.raises(Unauthenticated, match="audience"):
        security.authenticate(f"Bearer {issuer.token(audience='someone-else')}")
    with pytest.raises(Unauthenticated, match="issuer"):
        security.authenticate(f"Bearer {issuer.token(issuer='https://evil.example')}")
    forged = issuer.token(key=Issuer().key)  # same kid, another key
    with pytest.raises(Unauthenticated, match="bad signature"):
        security.authenticate(f"Bearer {forged}")
    with pytest.raises(Unauthenticated, match="invalid"):
        security.authenticate("Bearer not-a-jwt")


def test_a_rotated_key_is_fetched_at_once_and_its_tokens_accepted(issuer: Issuer) -> None:
    now = [1000.0]
    security = build_security(auth_settings(issuer.url))
    oidc = security._authenticators[1]
    oidc._keys._monotonic = lambda: now[0]  # type: ignore[attr-defined]
    security.authenticate(f"Bearer {issuer.token('a')}")
    assert issuer.fetches == 1
    issuer.rotate()
    now[0] += REFETCH_INTERVAL
    assert security.authenticate(f"Bearer {issuer.token('b')}").user == "b"
    assert issuer.fetches == 2
    # made-up key ids do not make it fetch on every call
    fake = issuer.kid
    issuer.kid = "key-made-up"
    for _ in range(3):
        with pytest.raises(Unauthenticated, match="unknown key id"):
            security.authenticate(f"Bearer {issuer.token('d')}")
    issuer.kid = fake
    assert issuer.fetches == 2


def test_queue_verbs_come_from_owners_and_permissions_or_the_global_permission() -> None:
    from armada.domain.queues import PermissionSubject, Queue, QueuePermission

    security = build_security(auth_settings())
    authoriser = security.authoriser
    bob = security.authenticate(basic("bob", PASSWORDS["bob"]))
    alice = security.authenticate(basic("alice", PASSWORDS["alice"]))
    group_watch = QueuePermission(
        subjects=(PermissionSubject(kind="Group", name="users"),), verbs=("watch",)
    )
    queue = Queue(name="q", permissions=(group_watch,))
    assert authoriser.may_on_queue(bob, queue, "watch")
    with pytest.raises(PermissionDenied, match="lacks permission submit_any_jobs"):
        authoriser.require_on_queue(bob, queue, "submit")
    assert authoriser.may_on_queue(alice, queue, "submit")  # submit_any_jobs
    owned = Queue(name="mine", user_owners=("bob",))
    assert authoriser.may_on_queue(bob, owned, "cancel")


def test_hash_password_makes_argon2id_hashes() -> None:
    assert hash_password("x").startswith("$argon2id$")


async def test_a_first_check_runs_off_the_event_loop() -> None:
    """An argon2 check takes 50 ms to seconds: the loop's other calls go on meanwhile."""
    import asyncio

    security = build_security(auth_settings())
    header = basic("alice", PASSWORDS["alice"])
    ticks = 0
    checking = asyncio.create_task(security.authenticate_off_loop(header))
    while not checking.done():
        ticks += 1
        await asyncio.sleep(0.001)
    assert (await checking).user == "alice"
    assert ticks >= 3  # the loop was not held for the check
    assert security.is_cached(header)

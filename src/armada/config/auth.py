"""Who may call the API and what they may do: authenticators, permission mappings and TLS.

Keys and meanings follow Armada's ``auth:`` section (``anonymousAuth``, ``basicAuth.users``,
``kubernetesAuth``, ``openIdAuth``, ``permissionGroupMapping``, ``permissionScopeMapping``,
``permissionClaimMapping``), with two differences: basic-auth users carry a password *hash*
(``armada hash-password``), never the password; and executors may be bound to the cluster ids
they act for (``executorClusters``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, model_validator

from armada.config.base import Duration, Settings

# Armada's global permissions (internal/server/permissions/permissions.go).
PERMISSIONS = (
    "submit_any_jobs",
    "cancel_any_jobs",
    "preempt_any_jobs",
    "reprioritize_any_jobs",
    "watch_all_events",
    "create_queue",
    "delete_queue",
    "cordon_queue",
    "cordon_nodes",
    "execute_jobs",
    "update_executor_settings",
    "create_retry_policy",
    "update_retry_policy",
    "delete_retry_policy",
)

# Every principal is in this group (Armada's ``everyone``).
EVERYONE = "everyone"

PermissionMapping = dict[str, tuple[str, ...]]


def _check_mapping(name: str, mapping: PermissionMapping) -> None:
    unknown = sorted(set(mapping) - set(PERMISSIONS))
    if unknown:
        raise ValueError(
            f"{name}: unknown permission {unknown[0]!r} (known: {', '.join(PERMISSIONS)})"
        )


class UserInfo(Settings):
    """One basic-auth user."""

    password_hash: str = Field(
        ...,
        min_length=1,
        description="An argon2 ($argon2id$...) or bcrypt ($2b$...) hash of the password, from "
        "`armada hash-password`; a plain password is refused.",
    )
    groups: tuple[str, ...] = Field((), description="Groups the user is in.")

    @model_validator(mode="after")
    def _is_a_hash(self) -> UserInfo:
        if not self.password_hash.startswith(("$argon2", "$2a$", "$2b$", "$2y$")):
            raise ValueError(
                "passwordHash: expected an argon2 or bcrypt hash (make one with "
                "`armada hash-password`), not a password"
            )
        return self


class BasicAuthSettings(Settings):
    """HTTP basic credentials checked against configured users."""

    users: dict[str, UserInfo] = Field(
        default_factory=dict, description="User name to password hash and groups."
    )


class OpenIdAuthSettings(Settings):
    """Bearer JWTs issued by an OpenID Connect provider, checked against its published keys."""

    provider_url: str = Field(
        "",
        description="The issuer (tokens' iss must equal it); its keys are found through "
        "<providerUrl>/.well-known/openid-configuration unless jwksUrl is given. Empty: off.",
    )
    jwks_url: str = Field("", description="The provider's JWKS document, if not discovered.")
    client_id: str = Field("", description="The audience tokens must carry (aud).")
    skip_client_id_check: bool = Field(
        False, description="Accept tokens whatever their audience (Armada's skipClientIDCheck)."
    )
    groups_claim: str = Field("groups", description="Claim holding the caller's groups.")
    scope_claim: str = Field("scope", description="Claim holding space-separated scopes.")
    user_claim: str = Field("sub", description="Claim naming the caller.")
    algorithms: tuple[str, ...] = Field(
        ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256"),
        description="Signature algorithms accepted (never 'none' or HMAC).",
    )
    leeway: Duration = Field(
        timedelta(seconds=30), description="Clock skew allowed on exp, nbf and iat."
    )
    jwks_cache: Duration = Field(
        timedelta(hours=1),
        description="How long fetched keys are trusted before they are fetched again (a token "
        "signed with an unknown key id fetches them at once, at most every 10 s).",
    )

    @property
    def enabled(self) -> bool:
        return bool(self.provider_url or self.jwks_url)

    @model_validator(mode="after")
    def _audience_given(self) -> OpenIdAuthSettings:
        if self.enabled and not self.client_id and not self.skip_client_id_check:
            raise ValueError(
                "openIdAuth: clientId is required (the audience tokens must carry), "
                "or set skipClientIDCheck"
            )
        bad = {"none", "HS256", "HS384", "HS512"} & set(self.algorithms)
        if bad:
            raise ValueError(f"openIdAuth.algorithms: {sorted(bad)[0]} is not accepted")
        return self


class KubernetesAuthSettings(Settings):
    """Kubernetes service-account tokens (executors'), checked by the cluster's TokenReview
    API (Armada's ``kubernetesAuth``)."""

    enabled: bool = Field(
        False,
        description="Check bearer tokens with the TokenReview API of the cluster this process "
        "runs in (on as well when kubeconfig or kidMappingFileLocation is given).",
    )
    kubeconfig: str = Field(
        "",
        description="Kubeconfig of the cluster asked; empty: the in-cluster configuration, "
        "else ~/.kube/config. Its credentials must be allowed to create tokenreviews "
        "(ClusterRole system:auth-delegator).",
    )
    context: str = Field("", description="Kubeconfig context; empty: the current one.")
    kid_mapping_file_location: str = Field(
        "",
        description="Armada's: a directory with one file per token key id (kid) holding the "
        "URL of the API server of the cluster that signed it; the review is made there, "
        "authenticated by the token itself. Empty: the one cluster of kubeconfig.",
    )
    ca_file: Path | None = Field(
        None,
        description="CA certificates (PEM) of the API servers named in kid mapping files; none: "
        "the system's (the CA a caller sends is never used).",
    )
    audiences: tuple[str, ...] = Field(
        (),
        description="Audiences asked of the review (spec.audiences): the token must be for one "
        "of them; empty: the API server's own.",
    )
    issuers: tuple[str, ...] = Field(
        (),
        description="Bearer tokens whose issuer (iss) is one of these are checked here, the "
        "others left to openIdAuth; empty: every bearer token (openIdAuth must then be off).",
    )
    invalid_token_expiry: Duration = Field(
        timedelta(minutes=1),
        description="Armada's: how long a token the review rejected is refused without asking "
        "again.",
    )
    request_timeout: Duration = Field(
        timedelta(seconds=10), description="Timeout of one TokenReview request."
    )

    @property
    def active(self) -> bool:
        return self.enabled or bool(self.kubeconfig or self.kid_mapping_file_location)


class AuthSettings(Settings):
    """Authentication (a chain: basic, then Kubernetes, then OpenID, then anonymous) and
    authorisation."""

    anonymous_auth: bool = Field(
        False,
        description="Let callers without credentials in as anonymousUser (on by default only "
        "in `armada dev`).",
    )
    anonymous_user: str = Field(
        "anonymous", description="User name of callers who present no credentials."
    )
    basic_auth: BasicAuthSettings = Field(default_factory=BasicAuthSettings)
    kubernetes_auth: KubernetesAuthSettings = Field(default_factory=KubernetesAuthSettings)
    open_id_auth: OpenIdAuthSettings = Field(default_factory=OpenIdAuthSettings)
    permission_group_mapping: PermissionMapping = Field(
        default_factory=dict,
        description="Permission to the groups that have it (every caller is in 'everyone').",
    )
    permission_scope_mapping: PermissionMapping = Field(
        default_factory=dict, description="Permission to the OpenID scopes that give it."
    )
    permission_claim_mapping: PermissionMapping = Field(
        default_factory=dict, description="Permission to the token claims that give it."
    )
    executor_clusters: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="User name of an executor's credentials to the cluster ids it may lease "
        "and report for; a principal not listed may act for any cluster id its execute_jobs "
        "permission allows.",
    )
    credential_cache: Duration = Field(
        timedelta(minutes=5),
        description="How long a checked password or token is remembered (by its hash), so that "
        "a busy client does not pay an argon2 check or a signature check per call.",
    )

    @model_validator(mode="after")
    def _known_permissions(self) -> AuthSettings:
        _check_mapping("permissionGroupMapping", self.permission_group_mapping)
        _check_mapping("permissionScopeMapping", self.permission_scope_mapping)
        _check_mapping("permissionClaimMapping", self.permission_claim_mapping)
        kubernetes = self.kubernetes_auth
        if kubernetes.active and self.open_id_auth.enabled and not kubernetes.issuers:
            raise ValueError(
                "kubernetesAuth.issuers is required when openIdAuth is on too: it tells the "
                "service-account tokens (their iss) from the OpenID provider's"
            )
        return self

    @property
    def any_authenticator(self) -> bool:
        return (
            self.anonymous_auth
            or bool(self.basic_auth.users)
            or self.open_id_auth.enabled
            or self.kubernetes_auth.active
        )


def open_auth() -> AuthSettings:
    """``armada dev``'s default: anonymous callers, and everyone may do everything."""
    return AuthSettings(
        anonymous_auth=True,
        permission_group_mapping=dict.fromkeys(PERMISSIONS, (EVERYONE,)),
    )


class TlsSettings(Settings):
    """TLS on a listener: off unless a certificate and key are given."""

    cert_file: Path | None = Field(None, description="The server's certificate chain (PEM).")
    key_file: Path | None = Field(None, description="The server certificate's private key (PEM).")
    client_ca_file: Path | None = Field(
        None,
        description="CA certificates (PEM) that sign client certificates; given: clients must "
        "present one (mutual TLS).",
    )

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None

    @model_validator(mode="after")
    def _both_or_none(self) -> TlsSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("tls: certFile and keyFile go together")
        if self.client_ca_file is not None and self.cert_file is None:
            raise ValueError("tls: clientCaFile needs certFile and keyFile")
        return self


class ClientTlsSettings(Settings):
    """How a component dials another over TLS (the executor to the scheduler)."""

    enabled: bool = Field(False, description="Dial with TLS.")
    ca_file: Path | None = Field(
        None, description="CA certificates (PEM) to trust; none: the system's."
    )
    cert_file: Path | None = Field(None, description="Client certificate, for mutual TLS.")
    key_file: Path | None = Field(None, description="Client certificate's private key.")
    server_name: str = Field(
        "", description="Name expected in the server's certificate, if not the host dialled."
    )


class ClientCredentials(Settings):
    """Credentials a component presents when it calls the API (never logged)."""

    username: str = Field("", description="Basic auth user name.")
    password: str = Field("", description="Basic auth password.")
    password_file: Path | None = Field(
        None, description="File holding the password (read at start), instead of password."
    )
    token_file: Path | None = Field(
        None,
        description="File holding a bearer token, read again at every call (a projected "
        "Kubernetes service-account token or one a sidecar refreshes).",
    )

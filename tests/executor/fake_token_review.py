"""The fake Kubernetes API server's TokenReview API (``POST
/apis/authentication.k8s.io/v1/tokenreviews``), answering as Kubernetes does.

It issues service-account tokens (JWTs with Kubernetes' claims and a key id, signed with a key
of its own) and reviews them: the requester must be authenticated (401 otherwise) and allowed
to create token reviews (403 otherwise); a token it did not issue, or one expired or revoked,
is ``authenticated: false`` with an ``error``; a token not for any audience the review asks
for likewise; an accepted one gets its service account's ``user`` (username, uid, groups) and
the audiences it is valid for.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://kubernetes.default.svc.cluster.local"
KID = "fake-cluster-key-1"
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # signs as the cluster does


@dataclass
class _Issued:
    namespace: str
    name: str
    uid: str
    audiences: tuple[str, ...]
    expires: float


@dataclass
class FakeTokenReviews:
    """Tokens issued by the fake cluster and the reviews made of them."""

    clock: Callable[[], float] = time.time
    reviewers: set[str] = field(default_factory=set)  # tokens allowed to create reviews
    reviews: list[dict[str, Any]] = field(default_factory=list)  # every spec asked about
    _issued: dict[str, _Issued] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(
        self,
        namespace: str,
        name: str,
        *,
        audiences: tuple[str, ...] = (ISSUER,),
        lifetime: float = 3600.0,
        reviewer: bool = False,
    ) -> str:
        """A projected service-account token for ``namespace/name``; ``reviewer``: allowed
        to create token reviews (bound to system:auth-delegator)."""
        now = self.clock()
        uid = str(uuid.uuid4())
        claims = {
            "iss": ISSUER,
            "aud": list(audiences),
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + lifetime),
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
        }
        token = jwt.encode(claims, _KEY, "RS256", headers={"kid": KID})
        with self._lock:
            self._issued[token] = _Issued(namespace, name, uid, audiences, now + lifetime)
            if reviewer:
                self.reviewers.add(token)
        return token

    def revoke(self, token: str) -> None:
        """As deleting the service account (or its pod) does."""
        with self._lock:
            self._issued.pop(token, None)

    def request_token(
        self, namespace: str, name: str, body: dict[str, Any], authorization: str | None
    ) -> tuple[int, Any]:
        """A POST to a service account's ``token`` subresource (TokenRequest): a new token of
        that account, for the asked audiences (the API server's if none) and lifetime."""
        from tests.executor.fake_kube_api import status_body

        requester = (authorization or "").removeprefix("Bearer ").strip()
        with self._lock:
            known = self._valid(requester) is not None
        if not known:
            return 401, status_body(401, "Unauthorized", "Unauthorized")
        spec = dict(body.get("spec") or {})
        seconds = int(spec.get("expirationSeconds") or 3600)
        if seconds < 600:
            message = (
                "spec.expirationSeconds: Invalid value: may not specify a duration less than "
                "10 minutes"
            )
            return 422, status_body(422, "Invalid", message)
        audiences = tuple(spec.get("audiences") or (ISSUER,))
        token = self.issue(namespace, name, audiences=audiences, lifetime=seconds)
        expires = self._issued[token].expires
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
        spec.update(audiences=list(audiences), expirationSeconds=seconds)
        return 201, {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
            "spec": spec,
            "status": {"token": token, "expirationTimestamp": stamp},
        }

    def answer(self, body: dict[str, Any], authorization: str | None) -> tuple[int, Any]:
        """The HTTP status and body of a POST to the tokenreviews collection."""
        from tests.executor.fake_kube_api import status_body

        requester = (authorization or "").removeprefix("Bearer ").strip()
        with self._lock:
            known = self._valid(requester) is not None
        if not known:
            return 401, status_body(401, "Unauthorized", "Unauthorized")
        if requester not in self.reviewers:
            user = self._issued[requester]
            return 403, status_body(
                403,
                "Forbidden",
                f'tokenreviews.authentication.k8s.io is forbidden: User "system:serviceaccount:'
                f'{user.namespace}:{user.name}" cannot create resource "tokenreviews" in API '
                'group "authentication.k8s.io" at the cluster scope',
            )
        spec = body.get("spec") or {}
        self.reviews.append(spec)
        return 201, {
            "kind": "TokenReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": self._status(str(spec.get("token", "")), spec.get("audiences") or []),
        }

    def _valid(self, token: str) -> _Issued | None:
        issued = self._issued.get(token)
        return issued if issued is not None and issued.expires > self.clock() else None

    def _status(self, token: str, wanted: list[str]) -> dict[str, Any]:
        with self._lock:
            issued = self._valid(token)
        if issued is None:
            return {"user": {}, "error": "[invalid bearer token, service account token is invalid]"}
        audiences = [a for a in issued.audiences if not wanted or a in wanted]
        if not audiences:
            return {
                "user": {},
                "error": f"[invalid bearer token, token audiences {list(issued.audiences)} is "
                f"invalid for the target audiences {wanted}]",
            }
        return {
            "authenticated": True,
            "user": {
                "username": f"system:serviceaccount:{issued.namespace}:{issued.name}",
                "uid": issued.uid,
                "groups": [
                    "system:serviceaccounts",
                    f"system:serviceaccounts:{issued.namespace}",
                    "system:authenticated",
                ],
            },
            "audiences": audiences,
        }

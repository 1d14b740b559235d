"""Who is calling and what they may do, for gRPC, REST and the UI alike.

One :class:`Security` per process holds the authenticator chain and the authoriser; the gRPC
interceptor (:mod:`armada.security.grpc_auth`), the servicers (through
``ApiContext.who``/``require``) and the ASGI middleware (:mod:`armada.security.asgi`) all use
it, so a caller is the same principal on every door.
"""

from armada.security.authorise import Authoriser, Permission
from armada.security.chain import Security, build_security
from armada.security.errors import PermissionDenied, Unauthenticated
from armada.security.principal import Principal

__all__ = [
    "Authoriser",
    "Permission",
    "PermissionDenied",
    "Principal",
    "Security",
    "Unauthenticated",
    "build_security",
]

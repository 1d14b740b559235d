"""What a servicer method sees of an HTTP call: the ``ServicerContext`` it is handed.

The servicers are called in process, exactly as gRPC calls them; this stands in for gRPC's
context. Its ``invocation_metadata()`` carries the HTTP headers under their lowercase names
(as gRPC metadata keys are), so that ``authorization`` reaches ``ApiContext.who()`` and the
same checks as gRPC's. ``abort`` raises :class:`Aborted`, a ``grpc.aio.AbortError`` (the
servicers' error wrappers pass those through untouched, as they do gRPC's own).
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from starlette.datastructures import Headers

# HTTP headers that are about the HTTP connection, not the call (gRPC drops their like too).
_HOP_BY_HOP = frozenset(
    {"connection", "content-length", "content-type", "host", "transfer-encoding", "keep-alive"}
)


class Aborted(grpc.aio.AbortError):  # type: ignore[misc]
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class HttpServicerContext:
    def __init__(self, headers: Headers, peer: str) -> None:
        self._metadata = tuple(
            (name.lower(), value)
            for name, value in headers.items()
            if name.lower() not in _HOP_BY_HOP
        )
        self._peer = peer

    def invocation_metadata(self) -> Sequence[tuple[str, str]]:
        return self._metadata

    def peer(self) -> str:
        return self._peer

    async def abort(self, code: grpc.StatusCode, details: str = "") -> None:
        raise Aborted(code, details)

    def set_code(self, code: grpc.StatusCode) -> None:
        """Used only by generated servicers' unimplemented methods, which then raise
        NotImplementedError (answered 501)."""

    def set_details(self, details: str) -> None:
        """See :meth:`set_code`."""

"""Which queues' jobs a Lookout caller may see: those they may ``watch``, the rule of the job
set events over gRPC (``watch_all_events``, or the queue grants them ``watch`` as an owner or a
subject of one of its permissions).

Lists of jobs and groups are filtered in SQL (``queue IN (...)`` added to the query, so that a
page is a page of visible jobs); one job's data, in a queue the caller may not watch, is a 403
naming ``watch`` and the queue, as gRPC's PERMISSION_DENIED does.
"""

from __future__ import annotations

from starlette.types import Scope

from armada.security import Permission, Principal, Security
from armada.security.asgi import request_principal
from armada.security.authorise import queue_refusal
from armada.views.store import QueryStore

# The queues a caller may see; None: every queue (they hold watch_all_events).
Visible = frozenset[str] | None


class Visibility:
    """Decides, per request, which queues the caller may watch."""

    def __init__(self, security: Security, store: QueryStore) -> None:
        self._authoriser = security.authoriser
        self._store = store

    def queues(self, scope: Scope) -> Visible:
        """The queues the request's caller may watch (None: all). Reads the queues from the
        views: call it on a worker thread."""
        who = request_principal(scope)
        if self._authoriser.has(who, Permission.WATCH_ALL_EVENTS):
            return None
        return frozenset(
            queue.name
            for queue in self._store.list_queues()
            if self._authoriser.granted_by_queue(who, queue, "watch")
        )

    def require(self, scope: Scope, queue: str) -> None:
        """PermissionDenied, naming ``watch`` and ``queue``, unless the caller may watch it."""
        who: Principal = request_principal(scope)
        if self._authoriser.has(who, Permission.WATCH_ALL_EVENTS):
            return
        found = self._store.get_queue(queue)
        if found is None or not self._authoriser.granted_by_queue(who, found, "watch"):
            raise queue_refusal(who, queue, "watch")

"""Who may read logs from a standalone executor's Binoculars: the rule of the API server (``watch``
on the job's queue, or watch_all_events), decided where the logs are.

Armada's Binoculars authenticates callers with the same chain as the server and leaves the rest
to Kubernetes (it reads logs impersonating the caller). Here the executor decides itself, as the
API server does for events: the caller is authenticated with the executor's own ``auth`` chain;
a caller holding ``watch_all_events`` (mapped in that section) may read any job's logs; anyone
else needs the job's queue to grant them ``watch`` (as an owner or a subject of a permission).
The job's queue is its pod's queue label, which the executor set from the lease. The queue's
owners and permissions live on the API server: they are read with ``GetQueue`` (with the
executor's own credentials, never the caller's) from ``binoculars.queueApi`` and kept
``binoculars.queueCache``. Without a ``queueApi`` only ``watch_all_events`` lets a caller in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc
from armada_client.armada import submit_pb2, submit_pb2_grpc

from armada.config import ConfigError
from armada.config.executor import ExecutorConfig
from armada.domain.queues import PermissionSubject, Queue, QueuePermission
from armada.domain.quoting import shown
from armada.executor.logs import AccessUnknown, LogGate
from armada.executor.model import QUEUE_LABEL
from armada.executor.runs import RunTracker
from armada.security import Permission, Security, build_security
from armada.security.authorise import queue_refusal
from armada.security.chain import authorization_header
from armada.security.dial import dial

LOOKUP_TIMEOUT = 10.0


def binoculars_security(settings: ExecutorConfig) -> Security:
    """The chain the executor's ``auth`` section configures; ConfigError if it lets no one in
    (as `armada server` refuses to start so)."""
    if not settings.auth.any_authenticator:
        raise ConfigError(
            "no authenticator is configured for Binoculars, so no call could be made: set "
            "auth.basicAuth.users, auth.openIdAuth, auth.kubernetesAuth or auth.anonymousAuth "
            "(see docs/security.md), or binoculars.port: 0"
        )
    return build_security(settings.auth)


def queue_access(message: submit_pb2.Queue) -> Queue:
    """The part of an ``api.Queue`` that says who may do what on it (the API server checked
    the rest when the queue was created)."""
    return Queue(
        name=message.name,
        user_owners=tuple(message.user_owners),
        group_owners=tuple(message.group_owners),
        permissions=tuple(
            QueuePermission(
                subjects=tuple(PermissionSubject(kind=s.kind, name=s.name) for s in p.subjects),
                verbs=tuple(p.verbs),
            )
            for p in message.permissions
        ),
    )


class QueuePermissions:
    """Queues' owners and permissions, read from the API server and kept ``queueCache``; one
    lookup at a time per queue (callers asking meanwhile wait for it)."""

    def __init__(
        self, settings: ExecutorConfig, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        where = settings.binoculars
        self._address = where.queue_api
        self._tls = where.queue_api_tls
        self._credentials = settings.credentials
        self._ttl = where.queue_cache.total_seconds()
        self._monotonic = monotonic
        self._known: dict[str, tuple[Queue | None, float]] = {}
        self._pending: dict[str, asyncio.Future[Queue | None]] = {}
        self._channel: grpc.aio.Channel | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    async def get(self, name: str) -> Queue | None:
        """The queue (None if the API server has no such queue); AccessUnknown if it cannot
        be asked."""
        known = self._known.get(name)
        if known is not None and known[1] > self._monotonic():
            return known[0]
        pending = self._pending.get(name)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Queue | None] = asyncio.get_running_loop().create_future()
        self._pending[name] = future
        try:
            found = await self._fetch(name)
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # retrieved: waiters re-raise it, no "never retrieved" warning
            else:  # cancelled: so are those waiting for it
                future.cancel()
            raise
        finally:
            del self._pending[name]
        self._known[name] = (found, self._monotonic() + self._ttl)
        future.set_result(found)
        return found

    async def _fetch(self, name: str) -> Queue | None:
        if self._channel is None:
            self._channel = dial(self._address, self._tls, self._credentials)
        stub = submit_pb2_grpc.QueueServiceStub(self._channel)
        try:
            message = await stub.GetQueue(
                submit_pb2.QueueGetRequest(name=name), timeout=LOOKUP_TIMEOUT
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise AccessUnknown(
                f"cannot read queue {shown(name)}'s permissions from {self._address}: "
                f"{exc.code().name} {exc.details()}"
            ) from None
        return queue_access(message)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()


def executor_log_gate(
    security: Security, queue_of_job: Callable[[str], str | None], queues: QueuePermissions
) -> LogGate:
    """The check made before a job's logs are read: Unauthenticated, PermissionDenied (naming
    ``watch`` and the queue) or AccessUnknown unless the caller may watch the job's queue."""
    authoriser = security.authoriser

    async def may_read(job_id: str, context: grpc.aio.ServicerContext) -> None:
        header = authorization_header(context.invocation_metadata())
        who = await security.authenticate_off_loop(header)
        if authoriser.has(who, Permission.WATCH_ALL_EVENTS):
            return
        queue_name = queue_of_job(job_id)
        if not queue_name:  # not here: no queue to grant anything (NOT_FOUND would tell more)
            authoriser.require(who, Permission.WATCH_ALL_EVENTS)
            return
        queue = await queues.get(queue_name) if queues.enabled else None
        if queue is None:  # no such queue, or no way to know what it grants
            raise queue_refusal(who, queue_name, "watch")
        authoriser.require_on_queue(who, queue, "watch")

    return may_read


def tracked_queue(tracker: RunTracker) -> Callable[[str], str | None]:
    """The queue of a job whose pod ``tracker`` looks after: its pod's queue label."""

    def queue_of_job(job_id: str) -> str | None:
        for record in tracker.runs():
            if record.job_id == job_id and record.pod is not None:
                lease_queue = record.lease.queue if record.lease is not None else ""
                return record.pod.labels.get(QUEUE_LABEL, lease_queue)
        return None

    return queue_of_job

"""Who may read a job's logs where the API server serves them: those with ``watch`` on the
job's queue (or watch_all_events), the same rule as for the job's events."""

from __future__ import annotations

import grpc

from armada.executor.logs import LogGate
from armada.security import Permission, PermissionDenied, Unauthenticated
from armada.server.context import ApiContext, ApiError


def api_log_gate(api: ApiContext) -> LogGate:
    def may_read(job_id: str, context: grpc.aio.ServicerContext) -> None:
        try:
            who = api.who(context)
            job = api.storage.store.get_job(job_id)
            queue = job.spec.queue if job is not None else ""
            api.require(who, Permission.WATCH_ALL_EVENTS, queue=queue, verb="watch")
        except ApiError as exc:
            if exc.code == grpc.StatusCode.UNAUTHENTICATED:
                raise Unauthenticated(exc.message) from None
            raise PermissionDenied(exc.message) from None

    return may_read

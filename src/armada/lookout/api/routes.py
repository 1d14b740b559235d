"""The Lookout v2 API over HTTP: Armada's routes, bodies and errors (``{"error": "..."}``).

Queries run on a worker thread (the views are read with blocking drivers), so that a slow
query never stalls the event loop that also serves gRPC.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from armada import __version__
from armada.domain.jobs import JobSpec
from armada.domain.lifecycle import JobRecord, RunRecord
from armada.eventlog.base import EventLog, EventLogError, StoreBusy
from armada.lookout.api.extras import QueueFigures, job_events
from armada.lookout.api.reader import LookoutReader, NotFound
from armada.lookout.api.requests import (
    BadRequest,
    GetJobsRequest,
    GroupJobsRequest,
    JobIdRequest,
    RunIdRequest,
    decode,
)
from armada.lookout.api.visibility import Visibility
from armada.lookout.bodies import BodyTooLarge, read_body
from armada.security import PermissionDenied, Security

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _respond(request: Request, work: Callable[[], dict[str, Any]]) -> Response:
    """``work`` run on a thread, its result as JSON; every failure a JSON error with the
    status that says whose fault it is."""
    try:
        return JSONResponse(await asyncio.to_thread(work))
    except BadRequest as exc:
        return error(400, str(exc))
    except NotFound as exc:
        return error(404, str(exc))
    except PermissionDenied as exc:
        return error(403, str(exc))
    except StoreBusy as exc:
        return error(429, str(exc))
    except EventLogError as exc:
        log.error("lookout: %s failed: %s", request.url.path, exc)
        return error(503, str(exc))
    except Exception as exc:
        log.exception("lookout: %s failed", request.url.path)
        return error(500, f"internal error: {exc}")


def _answer(kind: type[T], answer: Callable[[T, Scope], dict[str, Any]]) -> Handler:
    """A POST route: the body decoded as ``kind``, then ``answer`` given it and the request's
    scope (where the caller is; see :func:`_respond`)."""

    async def handle(request: Request) -> Response:
        try:
            parsed = decode(await read_body(request, MAX_BODY_BYTES), kind)
        except BodyTooLarge as exc:
            return error(413, str(exc))
        except BadRequest as exc:
            return error(400, str(exc))
        return await _respond(request, lambda: answer(parsed, request.scope))

    return handle


def lookout_routes(
    reader: LookoutReader,
    job_spec: Callable[[JobSpec], dict[str, Any]],
    event_log: EventLog,
    security: Security,
    figures: QueueFigures,
) -> list[BaseRoute]:
    """The routes; ``job_spec`` gives a job's spec as Armada's ``api.Job`` in JSON;
    ``security`` says which queues a caller may watch (:mod:`.visibility`); ``figures`` the
    scheduler's recent rounds, as far as this process knows them."""
    visibility = Visibility(security, reader.store)

    async def queues(request: Request) -> Response:
        return await _respond(request, lambda: figures.answer(visibility.queues(request.scope)))

    def jobs(request: GetJobsRequest, scope: Scope) -> dict[str, Any]:
        return reader.jobs(request, visibility.queues(scope))

    def groups(request: GroupJobsRequest, scope: Scope) -> dict[str, Any]:
        return reader.groups(request, visibility.queues(scope))

    def job(job_id: str, scope: Scope) -> JobRecord:
        found = reader.job(job_id)
        visibility.require(scope, found.spec.queue)
        return found

    def run(run_id: str, scope: Scope) -> RunRecord:
        owner, found = reader.run(run_id)
        visibility.require(scope, owner.spec.queue)
        return found

    def events(request: JobIdRequest, scope: Scope) -> dict[str, Any]:
        job(request.job_id, scope)
        return job_events(reader, event_log, request.job_id)

    def spec(request: JobIdRequest, scope: Scope) -> dict[str, Any]:
        return {"job": job_spec(job(request.job_id, scope).spec)}

    def job_error(request: JobIdRequest, scope: Scope) -> dict[str, Any]:
        return {"errorString": job(request.job_id, scope).error}

    def run_error(request: RunIdRequest, scope: Scope) -> dict[str, Any]:
        found = run(request.run_id, scope)
        return {"errorString": found.failure.reason if found.failure is not None else found.reason}

    def run_debug(request: RunIdRequest, scope: Scope) -> dict[str, Any]:
        failure = run(request.run_id, scope).failure
        messages = failure.container_messages if failure is not None else {}
        return {"errorString": "\n".join(f"{name}: {text}" for name, text in messages.items())}

    def termination(request: RunIdRequest, scope: Scope) -> dict[str, Any]:
        found = run(request.run_id, scope)
        return {"schedulerTerminationReason": found.reason if found.failure is None else ""}

    async def health(_: Request) -> Response:
        return PlainTextResponse("Health check passed")

    async def version(_: Request) -> Response:
        return JSONResponse({"version": __version__, "commit": "unknown", "buildTime": "unknown"})

    post = ["POST"]
    return [
        Route("/health", health, methods=["GET"]),
        Route("/api/v1/version", version, methods=["GET"]),
        Route("/api/v1/jobs", _answer(GetJobsRequest, jobs), methods=post),
        Route("/api/v1/jobGroups", _answer(GroupJobsRequest, groups), methods=post),
        Route("/api/v1/jobSpec", _answer(JobIdRequest, spec), methods=post),
        Route("/api/v1/jobError", _answer(JobIdRequest, job_error), methods=post),
        Route("/api/v1/jobRunError", _answer(RunIdRequest, run_error), methods=post),
        Route("/api/v1/jobRunDebugMessage", _answer(RunIdRequest, run_debug), methods=post),
        Route(
            "/api/v1/jobRunSchedulerTerminationReason",
            _answer(RunIdRequest, termination),
            methods=post,
        ),
        Route("/api/armada/jobEvents", _answer(JobIdRequest, events), methods=post),
        Route("/api/armada/queues", queues, methods=["GET"]),
    ]

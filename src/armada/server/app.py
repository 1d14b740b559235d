"""Assembling the API server: every servicer on one grpc.aio server."""

from __future__ import annotations

import grpc
from armada_client.armada import job_pb2_grpc, submit_pb2_grpc

from armada.config.server import ServerSettings
from armada.domain.clock import Clock, IdSource, RandomIds, SystemClock
from armada.rpc.gen import executor_admin_pb2_grpc
from armada.security import Security, build_security
from armada.server.admin_service import ExecutorServicer, NodeServicer
from armada.server.context import ApiContext
from armada.server.event_service import add_event_services
from armada.server.jobs_service import JobsServicer
from armada.server.queue_service import QueueServicer
from armada.server.retry_policy_service import RetryPolicyServicer
from armada.server.submit_service import SubmitServicer
from armada.views.storage import Storage


def add_public_api(server: grpc.aio.Server, api: ApiContext) -> dict[str, object]:
    """Register Armada's public services on ``server``; return the servicers of Armada's
    services by full name (``api.Submit``...), for the REST gateway to call the same ones."""
    servicers: dict[str, object] = {
        "api.Submit": SubmitServicer(api),
        "api.QueueService": QueueServicer(api),
        "api.RetryPolicyService": RetryPolicyServicer(api),
        "api.Jobs": JobsServicer(api),
    }
    submit_pb2_grpc.add_SubmitServicer_to_server(servicers["api.Submit"], server)
    submit_pb2_grpc.add_QueueServiceServicer_to_server(servicers["api.QueueService"], server)
    submit_pb2_grpc.add_RetryPolicyServiceServicer_to_server(
        servicers["api.RetryPolicyService"], server
    )
    servicers["api.Event"] = add_event_services(server, api)
    executor_admin_pb2_grpc.add_ExecutorServicer_to_server(ExecutorServicer(api), server)
    executor_admin_pb2_grpc.add_NodeServicer_to_server(NodeServicer(api), server)
    job_pb2_grpc.add_JobsServicer_to_server(servicers["api.Jobs"], server)
    return servicers


def make_api_context(
    storage: Storage,
    settings: ServerSettings,
    clock: Clock | None = None,
    ids: IdSource | None = None,
    security: Security | None = None,
) -> ApiContext:
    return ApiContext(
        storage=storage,
        settings=settings,
        clock=clock or SystemClock(),
        ids=ids or RandomIds(),
        security=security or build_security(settings.auth),
    )

"""Running the components in one asyncio loop.

``start_system`` is what ``armada dev`` (and the embedded test harness) runs: storage, the API
server, the view follower and the scheduler (whose executor API shares the public port); the
simulated executors join here as they are built. ``start_api_server`` is what
``armada server`` runs and ``start_scheduler`` what ``armada scheduler`` runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc

from armada.config import ConfigError
from armada.config.auth import AuthSettings
from armada.config.http import HttpSettings
from armada.config.server import GrpcSettings, ServerSettings, StorageSettings
from armada.dev.http_api import add_http_api
from armada.dev.loop_watch import watch_loop
from armada.domain.clock import Clock, IdSource, RandomIds, SystemClock
from armada.http import HttpListener, HttpParts, build_app, start_http
from armada.http.grpc_metrics import GrpcMetrics
from armada.lookout.gateway.rules import REPORTING
from armada.lookout.ui_files import ui_routes
from armada.security import Security, build_security
from armada.security.grpc_auth import AuthInterceptor
from armada.security.tls import server_credentials
from armada.server.app import add_public_api, make_api_context
from armada.server.views_gate import ViewsGate
from armada.views.retention import keep_pruning
from armada.views.storage import Storage, open_storage
from armada.views.updater import follow_log

# `armada server` starts without the scheduler, the executors and numpy: they are imported
# by the functions that start them (a second less to start on an idle machine).
if TYPE_CHECKING:
    from armada.config.dev import DevSettings
    from armada.config.lookout import LookoutSettings
    from armada.config.scheduler import SchedulerSettings
    from armada.dev.farm import Farm
    from armada.schedulerservice.runtime import SchedulerRuntime
    from armada.schedulerservice.service import SchedulerConfig

log = logging.getLogger(__name__)


@dataclass
class RunningSystem:
    address: str
    storage: Storage
    server: grpc.aio.Server
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    scheduler: SchedulerRuntime | None = None
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    farm: Farm | None = None
    http: HttpListener | None = None
    parts: HttpParts | None = None  # what the HTTP side serves (metrics' registry...)

    async def stop(self, grace: float = 1.0) -> None:
        for closer in self.closers:
            await closer()
        if self.http is not None:
            await self.http.stop()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.server.stop(grace)
        if self.scheduler is not None:
            self.scheduler.close()
        self.storage.close()


def grpc_server(
    grpc_settings: GrpcSettings, interceptors: list[grpc.aio.ServerInterceptor] | None = None
) -> grpc.aio.Server:
    size = grpc_settings.max_message_bytes
    return grpc.aio.server(
        interceptors=interceptors,
        options=[
            ("grpc.max_receive_message_length", size),
            ("grpc.max_send_message_length", size),
            ("grpc.so_reuseport", 0),
        ],
    )


AddServices = Callable[[grpc.aio.Server, Storage, HttpParts], "SchedulerRuntime | None"]


async def _serve(
    component: str,
    grpc_settings: GrpcSettings,
    http_settings: HttpSettings,
    storage_settings: StorageSettings,
    add_services: AddServices,
    *,
    auth: AuthSettings,
    follow_interval: float,
    views_later: bool = False,
    listen_grpc: bool = True,
) -> RunningSystem:
    """Open the store, register the services and listen (gRPC, then HTTP). With
    ``views_later`` the views are brought up to date after the server listens, and a gate
    holds the calls that read them until then: the start costs what is behind only to the
    calls that need it. Every call on either side is authenticated by one chain. Without
    ``listen_grpc`` the gRPC server only holds the servicers the HTTP routes call (``armada
    lookout``)."""
    security = checked_security(auth)
    storage = await asyncio.to_thread(open_storage, storage_settings, catch_up=not views_later)
    gate = ViewsGate() if views_later else None
    parts = HttpParts(component, security=security)
    # Metrics first, so that refused calls are counted with their code.
    interceptors: list[grpc.aio.ServerInterceptor] = [
        GrpcMetrics(parts.registry),
        AuthInterceptor(security),
    ]
    if gate is not None:
        interceptors.append(gate)
    server = grpc_server(grpc_settings, interceptors)
    if gate is not None:
        parts.readiness.append(gate.not_ready_reason)
        parts.views_ready = gate.ready.wait
    runtime = add_services(server, storage, parts)
    port = await _listen_grpc(server, grpc_settings, storage) if listen_grpc else 0
    http: HttpListener | None = None
    if http_settings.enabled:
        try:
            http = await start_http(http_settings, build_app(parts))
        except BaseException:
            await server.stop(0)
            storage.close()
            raise
    tasks = [
        _task(follow_log(storage.updater, follow_interval), "view-follower"),
        _task(watch_loop(), "loop-watch"),
    ]
    if gate is not None:
        tasks.append(_task(gate.open_after_catch_up(storage.updater), "view-catch-up"))
    if runtime is not None:
        tasks.append(_task(runtime.run(), "scheduler"))
    return RunningSystem(
        address=f"{grpc_settings.host}:{port}" if listen_grpc else "",
        storage=storage,
        server=server,
        tasks=tasks,
        scheduler=runtime,
        http=http,
        parts=parts,
    )


def checked_security(auth: AuthSettings) -> Security:
    """The chain ``auth`` configures; ConfigError if it would let no one in."""
    if not auth.any_authenticator:
        raise ConfigError(
            "no authenticator is configured, so no call could be made: set auth.basicAuth.users, "
            "auth.openIdAuth or auth.anonymousAuth (see docs/security.md)"
        )
    return build_security(auth)


async def _listen_grpc(server: grpc.aio.Server, settings: GrpcSettings, storage: Storage) -> int:
    try:
        if settings.tls.enabled:
            port = int(server.add_secure_port(settings.address, server_credentials(settings.tls)))
        else:
            port = int(server.add_insecure_port(settings.address))
    except RuntimeError:  # grpc's way of saying it could not bind (the CLI checks first)
        port = 0
    if port == 0:
        storage.close()
        raise OSError(f"could not listen on {settings.address}")
    await server.start()
    return port


def _task(coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    return asyncio.create_task(coroutine, name=name)


def add_scheduler(
    server: grpc.aio.Server,
    storage: Storage,
    *,
    config: SchedulerConfig,
    clock: Clock,
    ids: IdSource,
    http: HttpParts,
    security: Security,
) -> SchedulerRuntime:
    """Register the executor API and the scheduling reports, backed by a new scheduler whose
    metrics go to ``http``'s registry."""
    from armada.rpc.gen import executorapi_pb2_grpc, scheduler_reporting_pb2_grpc
    from armada.schedulerservice.executor_api import ExecutorApiServicer
    from armada.schedulerservice.metrics import SchedulerMetrics
    from armada.schedulerservice.reports_service import SchedulerReportingServicer
    from armada.schedulerservice.runtime import SchedulerRuntime
    from armada.schedulerservice.service import SchedulerService

    service = SchedulerService(storage, config, clock, ids)
    SchedulerMetrics(http.registry, service)
    runtime = SchedulerRuntime(service)
    executorapi_pb2_grpc.add_ExecutorApiServicer_to_server(
        ExecutorApiServicer(runtime, security), server
    )
    scheduler_reporting_pb2_grpc.add_SchedulerReportingServicer_to_server(
        SchedulerReportingServicer(runtime, security), server
    )
    return runtime


async def start_api_server(
    settings: ServerSettings, clock: Clock | None = None, ids: IdSource | None = None
) -> RunningSystem:
    """``armada server``: the public API on its store. It listens before its views have
    caught up with the log (event streams read the log and answer at once)."""

    def add(server: grpc.aio.Server, storage: Storage, http: HttpParts) -> None:
        api = make_api_context(storage, settings, clock, ids, http.security)
        add_http_api(http, api, add_public_api(server, api))

    system = await _serve(
        "server",
        settings.grpc,
        settings.http,
        settings.storage,
        add,
        auth=settings.auth,
        follow_interval=settings.events.poll_interval.total_seconds(),
        views_later=True,
    )
    _start_retention(system, settings.storage, clock or SystemClock())  # the API servers prune
    return system


def _start_retention(system: RunningSystem, settings: StorageSettings, clock: Clock) -> None:
    """The API servers prune expired job sets, when retention is on (several may: it is
    idempotent)."""
    if settings.expire_after.total_seconds() <= 0:
        return
    pruning = keep_pruning(
        system.storage,
        expire_after=settings.expire_after.total_seconds(),
        interval=settings.prune_interval.total_seconds(),
        batch=settings.prune_batch,
        now=clock.now,
    )
    system.tasks.append(_task(pruning, "retention"))


async def start_lookout(
    settings: LookoutSettings, clock: Clock | None = None, ids: IdSource | None = None
) -> RunningSystem:
    """``armada lookout``: the web UI, the Lookout API and the REST gateway on the store, over
    HTTP only (the gRPC server only holds the servicers the routes call). Like ``armada
    server`` it answers before its views have caught up. The scheduler's reports and the
    clusters' logs are asked for where ``settings`` say they are (:mod:`armada.lookout.remote`)."""
    from armada.lookout.remote import Forwarding

    forwarding: list[Forwarding] = []
    poll: list[Callable[[], Coroutine[Any, Any, None]]] = []

    def add(server: grpc.aio.Server, storage: Storage, http: HttpParts) -> None:
        assert http.security is not None
        api = make_api_context(storage, settings, clock, ids, http.security)
        remote = Forwarding(settings, http.security, storage.store)
        forwarding.append(remote)
        servicers = {**add_public_api(server, api), **remote.servicers}
        poller = remote.poller(add_http_api(http, api, servicers))
        if poller is not None:
            poll.append(poller)
        http.routes.extend(ui_routes())  # last: the UI answers the app's own pages

    system = await _serve(
        "lookout",
        settings.grpc,
        settings.http,
        settings.storage,
        add,
        auth=settings.auth,
        follow_interval=settings.events.poll_interval.total_seconds(),
        views_later=True,
        listen_grpc=False,
    )
    system.closers.extend(remote.close for remote in forwarding)
    system.tasks.extend(_task(poller(), "scheduler-shares") for poller in poll)
    return system


async def start_scheduler(
    settings: SchedulerSettings, clock: Clock | None = None, ids: IdSource | None = None
) -> RunningSystem:
    """``armada scheduler``: the loop, the executor API and the reports on its store."""
    from armada.schedulerservice.service import SchedulerConfig

    config = SchedulerConfig(scheduling=settings.scheduling, loop=settings.scheduler)

    def add(server: grpc.aio.Server, storage: Storage, http: HttpParts) -> SchedulerRuntime:
        assert http.security is not None
        return add_scheduler(
            server,
            storage,
            config=config,
            clock=clock or SystemClock(),
            ids=ids or RandomIds(),
            http=http,
            security=http.security,
        )

    return await _serve(
        "scheduler",
        settings.grpc,
        settings.http,
        settings.storage,
        add,
        auth=settings.auth,
        follow_interval=1.0,
    )


async def start_system(
    settings: DevSettings, clock: Clock | None = None, ids: IdSource | None = None
) -> RunningSystem:
    """Everything ``armada dev`` runs, in this loop, on one port: the public API, the
    scheduler (executor API, reports), the logs service and the simulated executors."""
    from armada.dev.farm import pod_locator, start_farm
    from armada.dev.log_access import api_log_gate
    from armada.executor import BinocularsLogService, Cluster
    from armada.schedulerservice.service import SchedulerConfig

    clock = clock or SystemClock()
    ids = ids or RandomIds()
    config = SchedulerConfig(scheduling=settings.scheduling, loop=settings.scheduler)
    clusters: dict[str, Cluster] = {}

    def add(server: grpc.aio.Server, storage: Storage, http: HttpParts) -> SchedulerRuntime:
        from armada.schedulerservice.reports_service import SchedulerReportingServicer

        assert http.security is not None
        api = make_api_context(storage, settings, clock, ids, http.security)
        servicers = add_public_api(server, api)
        logs = BinocularsLogService(
            pod_locator(storage.store), clusters, may_read=api_log_gate(api)
        )
        logs.add_to_server(server)
        runtime = add_scheduler(
            server, storage, config=config, clock=clock, ids=ids, http=http, security=http.security
        )
        servicers["binoculars.Binoculars"] = logs
        servicers[REPORTING] = SchedulerReportingServicer(runtime, http.security)
        add_http_api(http, api, servicers, lambda: runtime.service.history.rounds)
        http.routes.extend(ui_routes())  # last: the UI answers the app's own pages
        return runtime

    system = await _serve(
        "dev",
        settings.grpc,
        settings.http,
        settings.storage,
        add,
        auth=settings.auth,
        follow_interval=settings.events.poll_interval.total_seconds(),
    )
    _start_retention(system, settings.storage, clock)
    address = system.address
    if settings.grpc.host in ("0.0.0.0", "::", ""):
        address = f"127.0.0.1:{address.rsplit(':', 1)[1]}"
    registry = system.parts.registry if system.parts is not None else None
    system.farm = start_farm(settings, address, clusters, registry=registry)
    system.closers.append(system.farm.stop)
    return system


async def serve_until_stopped(
    start: Callable[[], Awaitable[RunningSystem]],
    stop: asyncio.Event,
    on_ready: Callable[[RunningSystem], None] | None = None,
) -> None:
    system = await start()
    try:
        if on_ready is not None:
            on_ready(system)
        await stop.wait()
    finally:
        await system.stop()

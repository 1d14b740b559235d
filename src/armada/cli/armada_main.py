"""``armada``: start the system's components. ``armada dev`` runs them all in one process."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from armada import __version__
from armada.cli.ports import listen_problem
from armada.config import ConfigError, Settings, load_settings
from armada.config.dev import DevSettings
from armada.config.http import HttpSettings
from armada.config.lookout import LookoutSettings
from armada.config.scheduler import SchedulerSettings
from armada.config.server import ServerSettings
from armada.dev.runtime import (
    RunningSystem,
    serve_until_stopped,
    start_api_server,
    start_lookout,
    start_scheduler,
    start_system,
)

Starter = Callable[[Any], Awaitable[RunningSystem]]


def _overrides(**options: Any) -> dict[str, Any]:
    """Command-line options that were given, as settings keys."""
    sections: dict[str, list[tuple[str, str]]] = {
        "port": [("grpc", "port")],
        "host": [("grpc", "host"), ("http", "host")],
        "http_port": [("http", "port")],
        "data_dir": [("storage", "data_dir")],
        "store": [("storage", "store")],
        "schedule_period": [("scheduler", "schedule_period")],
        "binoculars_port": [("binoculars", "port")],
    }
    values: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        for section, name in sections.get(key, []):
            values.setdefault(section, {})[name] = value
        if key not in sections:
            values[key] = value
    return values


def _load(
    component: str, model: type[Settings], config_file: Path | None, options: dict[str, Any]
) -> Any:
    try:
        return load_settings(model, config_file, env=os.environ, overrides=_overrides(**options))
    except ConfigError as exc:
        click.echo(f"armada {component}: {exc}", err=True)
        sys.exit(2)


def _exit_if_cannot_listen(component: str, host: str, port: int, how_to_change: str) -> None:
    problem = listen_problem(host, port, how_to_change)
    if problem is not None:
        click.echo(f"armada {component}: {problem}", err=True)
        sys.exit(1)


def _exit_if_http_cannot_listen(component: str, http: HttpSettings) -> None:
    if http.enabled:
        how = "choose another with --http-port (http.port in a config file; 0: any free port)"
        _exit_if_cannot_listen(component, http.host, http.port, how)


def _serve(component: str, settings: Any, start: Starter) -> None:
    grpc = settings.grpc
    if component != "lookout":  # lookout serves HTTP only
        _exit_if_cannot_listen(
            component,
            grpc.host,
            grpc.port,
            "choose another with --port (grpc.port in a config file)",
        )
    _exit_if_http_cannot_listen(component, settings.http)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def ready(system: RunningSystem) -> None:
            if component == "lookout":
                _lookout_ready(system, settings)
                return
            click.echo(f"Armada {__version__} ({component}) is serving on {system.address}")
            click.echo(f"  data: {settings.storage.shown}")
            if system.http is not None:
                click.echo(f"  http: {system.http.url} (/metrics, /healthz, /readyz)")
                if component != "scheduler":
                    click.echo(
                        f"  api:  {system.http.url}/api/openapi.json (REST and Lookout APIs)"
                    )
                if component == "dev":
                    click.echo(f"  lookout: {system.http.url}/ (the web UI)")
            if component != "scheduler":
                click.echo(f"  try:  armadactl --armadaUrl {system.address} create queue test")
            click.echo("  stop: Ctrl-C")

        await serve_until_stopped(lambda: start(settings), stop, ready)

    from armada.eventlog import EventLogError

    try:
        asyncio.run(main())
    except ConfigError as exc:
        click.echo(f"armada {component}: {exc}", err=True)
        sys.exit(2)
    except (OSError, EventLogError) as exc:
        click.echo(f"armada {component}: {exc}", err=True)
        sys.exit(1)


def _lookout_ready(system: RunningSystem, settings: Any) -> None:
    assert system.http is not None
    click.echo(f"Armada {__version__} (lookout) is serving the web UI on {system.http.url}/")
    click.echo("  apis: /api/v1/ (Lookout), /v1/ (REST gateway); /metrics, /healthz, /readyz")
    click.echo(f"  data: {settings.storage.shown}")
    reports = settings.scheduler_address or "none (--scheduler-address): no shares or reports"
    click.echo(f"  scheduler reports: {reports}")
    logs = settings.binoculars_address_pattern or ", ".join(
        f"{cluster}={address}" for cluster, address in settings.binoculars_addresses.items()
    )
    click.echo(f"  binoculars: {logs or 'none (--binoculars-address-pattern): no logs'}")
    click.echo("  stop: Ctrl-C")


def config_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="YAML settings file (see docs/configuration.md).",
    )(f)


def listen_options(
    default_port: int, default_http_port: int
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        f = click.option("--port", type=int, help=f"gRPC port [default: {default_port}].")(f)
        f = http_port_option(default_http_port)(f)
        f = click.option("--host", help="Interface to listen on [default: localhost].")(f)
        return store_options(f)

    return decorate


def http_port_option(default: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--http-port",
        type=int,
        help=f"HTTP port (/metrics, /healthz, /readyz); 0: any free one [default: {default}].",
    )


def store_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--store",
        help="postgresql://... : keep the store in PostgreSQL (see docs/operations.md)"
        " [default: the embedded store in --data-dir].",
    )(f)
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where the embedded store is [default: ./.armada].",
    )(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="armada")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per line, with request, job and run ids where known.",
)
def main(verbose: bool, log_format: str) -> None:
    """Run Armada's components."""
    from armada.logformat import configure_logging

    configure_logging(log_format, logging.DEBUG if verbose else logging.INFO)


@main.command()
@config_option
@listen_options(50051, 8080)
@click.option("--clusters", type=int, help="Simulated clusters [default: 1].")
@click.option("--nodes-per-cluster", type=int, help="Nodes per simulated cluster [default: 4].")
@click.option(
    "--node-resources",
    help="Each node's resources [default: cpu=32,memory=256Gi; process backend: this machine's].",
)
@click.option("--schedule-period", help="Time between scheduling rounds [default: 1s].")
@click.option(
    "--backend", type=click.Choice(["fake", "process"]), help="How jobs run [default: fake]."
)
def dev(config_file: Path | None, **options: Any) -> None:
    """Start every component in one process (on the embedded store unless --store)."""
    from armada.dev.farm import FarmError, executor_settings

    settings = _load("dev", DevSettings, config_file, options)
    try:
        if settings.clusters:  # the farm's shape is checked before anything starts
            executor_settings(settings, 0, "")
    except FarmError as exc:
        click.echo(f"armada dev: {exc}", err=True)
        sys.exit(2)
    _serve("dev", settings, start_system)


@main.command()
@config_option
@listen_options(50051, 8080)
def server(config_file: Path | None, **options: Any) -> None:
    """Start the public API server alone (other components share its store)."""
    _serve("server", _load("server", ServerSettings, config_file, options), start_api_server)


@main.command()
@config_option
@http_port_option(10000)
@click.option("--host", help="Interface to listen on [default: localhost].")
@click.option(
    "--scheduler-address",
    help="host:port of `armada scheduler`, for queue shares and scheduling reports.",
)
@click.option(
    "--binoculars-address-pattern",
    help="host:port of each cluster's Binoculars, {CLUSTER_ID} standing for the cluster.",
)
@store_options
def lookout(config_file: Path | None, **options: Any) -> None:
    """Start Lookout: the web UI, the Lookout API and the REST gateway, on a store that
    `armada server` and `armada scheduler` share (HTTP only)."""
    settings = _load("lookout", LookoutSettings, config_file, options)
    if not settings.http.enabled:
        click.echo("armada lookout: http.enabled is false: lookout serves only HTTP", err=True)
        sys.exit(2)
    _serve("lookout", settings, start_lookout)


@main.command()
@config_option
@listen_options(50052, 9000)
@click.option("--schedule-period", help="Time between scheduling rounds [default: 10s].")
def scheduler(config_file: Path | None, **options: Any) -> None:
    """Start the scheduler: its loop, the executor API and the scheduling reports."""
    _serve(
        "scheduler", _load("scheduler", SchedulerSettings, config_file, options), start_scheduler
    )


@main.command()
@config_option
@click.option("--scheduler-address", help="host:port of the scheduler [default: 127.0.0.1:50051].")
@click.option("--cluster-id", help="This executor's id towards the scheduler [default: cluster-1].")
@click.option("--pool", help="The pool of this cluster's nodes [default: default].")
@click.option(
    "--backend",
    type=click.Choice(["fake", "process", "kubernetes"]),
    help="What stands for the cluster [default: fake].",
)
@click.option(
    "--binoculars-port", type=int, help="Port of its logs service; 0: none [default: 50053]."
)
@http_port_option(9001)
def executor(config_file: Path | None, **options: Any) -> None:
    """Start an executor: one per cluster, leasing jobs from the scheduler and serving its
    jobs' logs (Binoculars); see docs/executor.md."""
    from armada.config.executor import ExecutorConfig
    from armada.executor import ClusterError, build_cluster, serve_executor
    from armada.executor.standalone import ExecutorListeners

    settings = _load("executor", ExecutorConfig, config_file, options)
    logs = settings.binoculars
    _exit_if_cannot_listen(
        "executor",
        logs.host,
        logs.port,
        "choose another with --binoculars-port (binoculars.port in a config file; 0: none)",
    )
    _exit_if_http_cannot_listen("executor", settings.http)
    if logs.port:
        from armada.executor.log_access import binoculars_security

        try:
            binoculars_security(settings)
        except ConfigError as exc:
            click.echo(f"armada executor: {exc}", err=True)
            sys.exit(2)

    def ready(listeners: ExecutorListeners) -> None:
        click.echo(
            f"Armada {__version__} executor {settings.cluster_id} ({settings.backend}, "
            f"pool {settings.pool}) reporting to {settings.scheduler_address}"
        )
        if listeners.http is not None:
            click.echo(f"  http: {listeners.http.url} (/metrics, /healthz, /readyz)")
        if listeners.logs is not None:
            click.echo(
                f"  logs: Binoculars on {listeners.logs.address} (armadactl logs --binoculars-url)"
            )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        cluster = build_cluster(settings)
        try:
            await serve_executor(settings, cluster, stop=stop, on_ready=ready)
        finally:
            await cluster.close()

    try:
        asyncio.run(run())
    except (ClusterError, OSError) as exc:
        click.echo(f"armada executor: {exc}", err=True)
        sys.exit(1)


@main.command("rebuild-views")
@config_option
@store_options
def rebuild_views(config_file: Path | None, **options: Any) -> None:
    """Rebuild the query store from the event log (stop the other components first)."""
    from armada.eventlog import EventLogError
    from armada.views.storage import rebuild_views as rebuild

    settings = _load("rebuild-views", ServerSettings, config_file, options)
    try:
        offset, jobs = rebuild(settings.storage)
    except EventLogError as exc:
        click.echo(f"armada rebuild-views: {exc}", err=True)
        sys.exit(1)
    click.echo(f"rebuilt the views from {offset} log entries ({jobs} jobs)")


@main.command()
@config_option
@click.option("--store", help="The PostgreSQL store to migrate (postgresql://...).")
def migrate(config_file: Path | None, store: str | None) -> None:
    """Bring a PostgreSQL store's schema to this version's (run before rolling it out)."""
    from armada.eventlog import EventLogError
    from armada.views.storage import migrate_store

    settings = _load("migrate", ServerSettings, config_file, {"store": store})
    if not settings.storage.postgres:
        click.echo("armada migrate: give a postgresql:// URL with --store", err=True)
        sys.exit(2)
    try:
        steps = migrate_store(settings.storage.store)
    except EventLogError as exc:
        click.echo(f"armada migrate: {exc}", err=True)
        sys.exit(1)
    for part, before, after in steps:
        change = "up to date" if before == after else f"migrated from {before}"
        click.echo(f"{part}: schema version {after} ({change})")


@main.command("hash-password")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
def hash_password(password_stdin: bool) -> None:
    """Print an argon2 hash of a password, for auth.basicAuth.users.<name>.passwordHash."""
    from armada.security.basic import hash_password as make_hash

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        click.echo("armada hash-password: the password is empty", err=True)
        sys.exit(2)
    click.echo(make_hash(password))


if __name__ == "__main__":
    main()

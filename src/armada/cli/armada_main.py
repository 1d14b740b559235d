"""``armada``: start the system's components. ``armada dev`` runs them all in one process."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click

from armada import __version__
from armada.config import ConfigError, Settings, load_settings
from armada.config.dev import DevSettings
from armada.config.server import ServerSettings
from armada.dev.runtime import (
    RunningSystem,
    serve_until_stopped,
    start_api_server,
    start_system,
)


def _overrides(**options: Any) -> dict[str, Any]:
    """Command-line options that were given, as settings keys."""
    values: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key == "port":
            values.setdefault("grpc", {})["port"] = value
        elif key == "host":
            values.setdefault("grpc", {})["host"] = value
        elif key == "data_dir":
            values.setdefault("storage", {})["data_dir"] = value
        else:
            values[key] = value
    return values


def _run(settings: ServerSettings, component: str) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def ready(system: RunningSystem) -> None:
            click.echo(f"Armada {__version__} ({component}) is serving on {system.address}")
            click.echo(f"  data: {settings.storage.database_path} ({settings.storage.event_log})")
            click.echo(f"  try:  armadactl --armadaUrl {system.address} create queue test")
            click.echo("  stop: Ctrl-C")

        if isinstance(settings, DevSettings):
            dev_settings = settings
            await serve_until_stopped(lambda: start_system(dev_settings), stop, ready)
        else:
            await serve_until_stopped(lambda: start_api_server(settings), stop, ready)

    asyncio.run(main())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="armada")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Run Armada's components."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML settings file (see docs/configuration.md).",
)
@click.option("--port", type=int, help="gRPC port [default: 50051].")
@click.option("--host", help="Interface to listen on [default: localhost].")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to keep the embedded store [default: ./.armada].",
)
@click.option("--clusters", type=int, help="Simulated clusters [default: 1].")
@click.option("--nodes-per-cluster", type=int, help="Nodes per simulated cluster [default: 4].")
@click.option("--node-resources", help="Each node's resources [default: cpu=32,memory=256Gi].")
@click.option("--schedule-period", help="Time between scheduling rounds [default: 1s].")
@click.option(
    "--backend", type=click.Choice(["fake", "process"]), help="How jobs run [default: fake]."
)
def dev(config_file: Path | None, **options: Any) -> None:
    """Start every component in one process on the embedded store."""
    _start("dev", DevSettings, config_file, options)


@main.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML settings file (see docs/configuration.md).",
)
@click.option("--port", type=int, help="gRPC port [default: 50051].")
@click.option("--host", help="Interface to listen on [default: localhost].")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the store is [default: ./.armada].",
)
def server(config_file: Path | None, **options: Any) -> None:
    """Start the public API server alone (other components share its store)."""
    _start("server", ServerSettings, config_file, options)


@main.command("rebuild-views")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML settings file (see docs/configuration.md).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the store is [default: ./.armada].",
)
def rebuild_views(config_file: Path | None, data_dir: Path | None) -> None:
    """Rebuild the query store from the event log (stop the other components first)."""
    import os

    from armada.views.storage import open_storage

    try:
        settings = load_settings(
            ServerSettings, config_file, env=os.environ, overrides=_overrides(data_dir=data_dir)
        )
    except ConfigError as exc:
        click.echo(f"armada rebuild-views: {exc}", err=True)
        sys.exit(2)
    storage = open_storage(settings.storage)
    try:
        storage.store.reset()
        offset = storage.updater.catch_up()
        click.echo(
            f"rebuilt the views from {offset} log entries ({len(storage.store.all_jobs())} jobs)"
        )
    finally:
        storage.close()


def _start(
    component: str, model: type[Settings], config_file: Path | None, options: dict[str, Any]
) -> None:
    import os

    try:
        settings = load_settings(
            model, config_file, env=os.environ, overrides=_overrides(**options)
        )
    except ConfigError as exc:
        click.echo(f"armada {component}: {exc}", err=True)
        sys.exit(2)
    assert isinstance(settings, ServerSettings)
    try:
        _run(settings, component)
    except OSError as exc:
        click.echo(f"armada {component}: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

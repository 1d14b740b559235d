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
from armada.config import ConfigError, load_settings
from armada.config.dev import DevSettings
from armada.dev.runtime import RunningSystem, serve_until_stopped


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


def _run(settings: DevSettings) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def ready(system: RunningSystem) -> None:
            click.echo(f"Armada {__version__} is serving on {system.address}")
            click.echo(f"  data: {settings.storage.database_path} ({settings.storage.event_log})")
            click.echo(f"  try:  armadactl --armadaUrl {system.address} create queue test")
            click.echo("  stop: Ctrl-C")

        await serve_until_stopped(settings, stop, ready)

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
    import os

    try:
        settings = load_settings(
            DevSettings, config_file, env=os.environ, overrides=_overrides(**options)
        )
    except ConfigError as exc:
        click.echo(f"armada dev: {exc}", err=True)
        sys.exit(2)
    try:
        _run(settings)
    except OSError as exc:
        click.echo(f"armada dev: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

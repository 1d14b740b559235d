"""What every armadactl command shares: the resolved connection, the client, the output format,
and the exit codes.

Exit codes scripts can rely on:

* 0: done;
* 1: the server refused or failed the operation (unknown queue, invalid job, ...);
* 2: bad usage or a bad input file (unknown flag, invalid YAML, unknown field, ...);
* 3: the server cannot be reached (wrong address, server down, no answer in time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from armada.cli.armadactl.contexts import Config, Context, load_config
from armada.client import (
    DEFAULT_URL,
    Binoculars,
    Client,
    Connection,
    ConnectionDetails,
    SchedulerReports,
)

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


class CommandFailed(Exception):
    """A failure found by armadactl itself, with its exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass
class App:
    """Global options, resolved lazily: commands that need no server never connect."""

    url_flag: str | None = None
    context_flag: str | None = None
    config_path: Path | None = None
    output_flag: str | None = None
    timeout: float = 30.0
    _config: Config | None = None
    _client: Client | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def context(self) -> Context | None:
        return self.config.context(self.context_flag)

    @property
    def url(self) -> str:
        if self.url_flag:
            return self.url_flag
        context = self.context
        return (context.armada_url if context else "") or DEFAULT_URL

    def details(self, url: str | None = None) -> ConnectionDetails:
        context = self.context
        if (
            context
            and context.unsupported_auth
            and not context.username
            and context.token_source is None
        ):
            kinds = ", ".join(context.unsupported_auth)
            raise CommandFailed(
                f"context {context.name or '(default)'!r} uses {kinds}, which this armadactl "
                "does not support; use basicAuth, openIdClientCredentialsAuth, "
                "openIdDeviceAuth, execAuth or kubernetesNativeAuth",
                EXIT_USAGE,
            )
        return ConnectionDetails(
            url=url or self.url,
            username=context.username if context else "",
            password=context.password if context else "",
            use_tls=context.use_tls if context else False,
            timeout=self.timeout,
            token_source=context.token_source if context else None,
            ca_file=context.ca_file if context else "",
        )

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(Connection(self.details()))
            self._closers.append(self._client.close)
        return self._client

    def reports(self) -> SchedulerReports:
        return SchedulerReports(self.client.connection)

    def binoculars(self, url: str | None) -> Binoculars:
        context = self.context
        url = url or (context.binoculars_url if context else "") or None
        if url is None:
            return Binoculars(self.client.connection)
        connection = Connection(self.details(url), service="Binoculars")
        self._closers.append(connection.close)
        return Binoculars(connection)

    def output(self, default: str = "table") -> str:
        return self.output_flag or default

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def pass_app(function: F) -> F:
    """Give the command the :class:`App` as its first argument."""
    return cast(F, click.pass_obj(function))
